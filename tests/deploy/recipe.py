"""The reference deployment of deploy/, run on this machine on free ports.

Two workers started with the arguments of the shipped systemd unit, and in front of them nginx
running the shipped site, rendered by the shipped render.py, with a certificate made here for
``localhost``. Only the main nginx.conf around the site is the test's (Debian ships its own).
"""

import contextlib
import getpass
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.live.server import ROOT, LiveServer, free_port, wait_until_serving

UNIT = ROOT / "deploy" / "systemd" / "parley@.service"
RENDER = ROOT / "deploy" / "nginx" / "render.py"
SERVER_NAME = "localhost"

# Debian's /etc/nginx/nginx.conf in short, every path relative to the directory nginx is started
# in (-p). The workers run as the user running the test, who owns that directory.
NGINX_CONF = """\
user {user};
worker_processes 1;
pid nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log access.log;
    client_body_temp_path client_body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;
    include parley.conf;
}}
"""


@dataclass
class Proxy(LiveServer):
    """nginx serving the shipped site: https on ``port``, its redirect to https on
    ``http_port``."""

    http_port: int = 0

    @property
    def url(self) -> str:
        return f"https://{SERVER_NAME}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://{SERVER_NAME}:{self.port}/ws/"


@dataclass
class Deployment:
    """nginx, the workers behind it, and the certificate clients must trust."""

    proxy: Proxy
    workers: list[LiveServer]
    certificate: Path


def nginx_binary() -> str | None:
    """nginx, also where a user's PATH leaves out /usr/sbin (Debian's default for non-root)."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")


def unit_arguments(port: int) -> list[str]:
    """uvicorn's arguments in the unit's ExecStart, for its instance on ``port`` (``%i``)."""
    unit = UNIT.read_text().replace("\\\n", " ")
    command = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    words = shlex.split(command.removeprefix("ExecStart="))
    after_app = words[words.index("project.asgi:application") + 1 :]
    return [word.replace("%i", str(port)) for word in after_app]


def start_worker(directory: Path, name: str, env: dict[str, str]) -> LiveServer:
    """One worker as ``parley@<port>`` runs it, the unit's uvicorn being this interpreter's."""
    port = free_port()
    log = directory / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "project.asgi:application", *unit_arguments(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    return LiveServer(port=port, process=process, log=log)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as systemd stops a unit (uvicorn closes its sockets with 1012, nginx at once)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key for ``localhost`` (and 127.0.0.1), valid a day."""
    certificate, key = directory / "certificate.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={SERVER_NAME}",
         "-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


def render_site(
    directory: Path, workers: list[LiveServer], ports: tuple[int, int], tls: tuple[Path, Path]
) -> None:
    """deploy/nginx/parley.conf as render.py prints it for these (https, http) ports and TLS
    files."""
    names = {
        "PARLEY_SERVER_NAME": SERVER_NAME,
        "PARLEY_HTTPS_LISTEN": f"127.0.0.1:{ports[0]}",
        "PARLEY_HTTP_LISTEN": f"127.0.0.1:{ports[1]}",
        "PARLEY_TLS_CERT": str(tls[0]),
        "PARLEY_TLS_KEY": str(tls[1]),
        "PARLEY_WORKER_1": f"127.0.0.1:{workers[0].port}",
        "PARLEY_WORKER_2": f"127.0.0.1:{workers[1].port}",
    }
    site = subprocess.run(
        [sys.executable, str(RENDER)], env={"PATH": os.environ.get("PATH", ""), **names},
        check=True, capture_output=True, text=True,
    ).stdout
    (directory / "parley.conf").write_text(site)


def wait_until_listening(proxy: Proxy, timeout: float = 10) -> None:
    """Wait for nginx to accept on its https port, or fail with what it said."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proxy.process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", proxy.port)):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not start:\n{proxy.log.read_text()[-4000:]}")


@contextlib.contextmanager
def nginx(directory: Path, workers: list[LiveServer]) -> Iterator[tuple[Proxy, Path]]:
    """nginx in the foreground on free ports with the rendered site; stopped after."""
    tls = make_certificate(directory)
    ports = (free_port(), free_port())
    render_site(directory, workers, ports, tls)
    conf, log = directory / "nginx.conf", directory / "error.log"
    conf.write_text(NGINX_CONF.format(user=getpass.getuser()))
    command = [str(nginx_binary()), "-p", f"{directory}/", "-c", str(conf), "-e", str(log)]
    with open(log, "a") as out:  # what nginx says before it opens its log, there too
        process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT
        )
    proxy = Proxy(port=ports[0], process=process, log=log, http_port=ports[1])
    try:
        wait_until_listening(proxy)
        yield proxy, tls[0]
    finally:
        stop(process)


@contextlib.contextmanager
def deployment(directory: Path, env: dict[str, str]) -> Iterator[Deployment]:
    """Two workers (started together) behind nginx, with the workers' environment ``env``."""
    workers = [start_worker(directory, f"parley@{n}", env) for n in (1, 2)]
    try:
        for worker in workers:
            wait_until_serving(worker)
        with nginx(directory, workers) as (proxy, certificate):
            yield Deployment(proxy, workers, certificate)
    finally:
        for worker in workers:
            stop(worker.process)


@dataclass
class Answer:
    """A response as the client got it (redirects are not followed)."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    url: str,
    data: dict | bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> Answer:
    """GET, or POST ``data`` (JSON), from the client address ``source`` (any of 127.0.0.0/8)."""
    parts = urllib.parse.urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=10, source_address=(source, 0))
    body = json.dumps(data).encode() if isinstance(data, dict) else data
    headers = {"Content-Type": "application/json", **(headers or {})}
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET" if body is None else "POST", path, body, headers)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()
