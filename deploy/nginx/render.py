"""Print parley.conf for this host: each ``${PARLEY_...}`` name from the environment.

    PARLEY_SERVER_NAME=chat.example.com python3 deploy/nginx/render.py \
        > /etc/nginx/sites-available/parley

nginx's own variables (``$host``, ``$http_upgrade``) are left as they are. Names not set take
the defaults below; the test of the recipe (tests/deploy/) renders the shipped file with it.
"""

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TEMPLATE = Path(__file__).with_name("parley.conf")
NAME = re.compile(r"\$\{(PARLEY_[A-Z0-9_]+)\}")


def defaults(server_name: str) -> dict[str, str]:
    """What a name not set in the environment becomes: the ports of deploy/systemd/."""
    certificates = f"/etc/letsencrypt/live/{server_name}"
    return {
        "PARLEY_HTTP_LISTEN": "80",
        "PARLEY_HTTPS_LISTEN": "443",
        "PARLEY_TLS_CERT": f"{certificates}/fullchain.pem",
        "PARLEY_TLS_KEY": f"{certificates}/privkey.pem",
        "PARLEY_WORKER_1": "127.0.0.1:8001",
        "PARLEY_WORKER_2": "127.0.0.1:8002",
    }


def render(template: str, environ: Mapping[str, str]) -> str:
    """The template with its names replaced; KeyError names the first one without a value."""
    values = {**defaults(environ.get("PARLEY_SERVER_NAME", "")), **environ}
    return NAME.sub(lambda match: values[match[1]], template)


def main() -> int:
    try:
        sys.stdout.write(render(TEMPLATE.read_text(), os.environ))
    except KeyError as missing:
        print(f"render.py: set {missing.args[0]} (see the top of {TEMPLATE})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
