"""The README's configuration table names every environment variable the code reads."""

import re

from tests.live.server import ROOT

APPS = ["project", "rooms", "calls", "consumers", "presence", "frontend"]
READ = re.compile(
    r"""(?:env_(?:int|bool|list|choice|networks)\(|os\.environ\.get\(|os\.environ\[|"""
    r"""os\.getenv\()\s*"""
    r"""["']([A-Z][A-Z0-9_]*)["']"""
)


def variables_read() -> set[str]:
    names: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            names |= set(READ.findall(path.read_text()))
    return names


def test_every_variable_the_code_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", table))
    assert len(variables_read()) > 30  # the scan itself works
    assert sorted(variables_read() - documented) == []
