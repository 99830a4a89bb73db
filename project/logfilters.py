"""Keep API tokens out of the logs: uvicorn's access log prints the socket's ``?token=``."""

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

# A ``name=value`` pair at the start of a text or after ``?``, ``&``, ``;``, a space or a quote.
PAIR = re.compile(r"(?<![^?&;\s\"'])([^=&;\s\"'#?]+)=([^&;\s\"'#]*)")


def redact(text: str) -> str:
    """``text`` with the value of every ``token`` pair replaced, the name read as the server
    reads it (percent-decoded: ``?tok%65n=`` signs in as ``?token=`` does)."""

    def replace(pair: re.Match[str]) -> str:
        if unquote_plus(pair.group(1)).strip().lower() == "token":
            return f"{pair.group(1)}=[redacted]"
        return pair.group(0)

    return PAIR.sub(replace, text)


class RedactTokens(logging.Filter):
    """Redact ``token=<key>`` in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.clean(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True

    @staticmethod
    def clean(arg: Any) -> Any:
        return redact(arg) if isinstance(arg, str) else arg
