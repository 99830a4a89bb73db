"""The shipped files of deploy/ checked without running them: systemd accepts the units, the
example environment names settings Parley reads, render.py says which name it lacks."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.deploy.recipe import RENDER, UNIT
from tests.test_configuration_table import variables_read

EXAMPLE = UNIT.parents[1] / "parley.env.example"


def test_systemd_accepts_the_units():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze (Debian's systemd package)")
    verified = subprocess.run(
        ["systemd-analyze", "verify", "parley@8001.service", "parley-expire-guests.service",
         "parley-expire-guests.timer"],
        cwd=UNIT.parent, capture_output=True, text=True,
    )
    # The one complaint a machine without Parley installed in /srv/parley must get.
    complaints = [
        line for line in (verified.stdout + verified.stderr).splitlines()
        if not re.search(r"Command /srv/parley/\.venv/bin/\w+ is not executable", line)
    ]
    assert complaints == []


def test_the_example_environment_names_settings_parley_reads():
    names = re.findall(r"^#?([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), re.MULTILINE)
    assert sorted(set(names) - variables_read()) == []
    required = {"SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "REDIS_URL"}
    assert required <= set(re.findall(r"^([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(), re.MULTILINE))


def test_render_names_the_setting_it_lacks():
    rendered = subprocess.run(
        [sys.executable, str(RENDER)], env={}, capture_output=True, text=True
    )
    assert rendered.returncode == 2
    assert "set PARLEY_SERVER_NAME" in rendered.stderr
    assert rendered.stdout == ""
