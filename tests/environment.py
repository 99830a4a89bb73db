"""Loaded before Django starts (``-p tests.environment`` in setup.cfg).

DEBUG is off unless asked for, and then a SECRET_KEY is required: the suite makes one per run,
shared with the servers it starts (their sessions and tokens must agree), so it never depends
on a developer's environment or a stored key.
"""

import os
import secrets

os.environ.setdefault("SECRET_KEY", "parley-tests-" + secrets.token_urlsafe(32))
