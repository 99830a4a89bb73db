"""Keep API tokens out of the logs: uvicorn's access log prints the socket's ``?token=``."""

import logging
import re

TOKEN = re.compile(r"(token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """Replace ``token=<key>`` with ``token=[redacted]`` in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = TOKEN.sub(r"\1[redacted]", record.msg)
        return True
