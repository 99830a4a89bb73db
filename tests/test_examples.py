"""What the docs show of the examples is the examples' own code, so it cannot rot.

A block in a document marked ``<!-- excerpt: examples/node/chat.mjs NAME -->`` must be, to the
letter (indentation aside), the region of that file between ``// --- protocol.md: NAME ---``
and ``// --- end of protocol.md: NAME ---``. The README's terminal section names examples that
exist, and the run shown in examples/README.md is what the examples print (STEPS, which
tests/live/test_examples.py holds them to when it runs them).
"""

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
QUOTING = [ROOT / "docs" / "protocol.md", ROOT / "README.md"]

REGION = re.compile(
    r"^(?P<indent>[ ]*)// --- protocol\.md: (?P<name>[\w-]+) ---\n(?P<body>.*?)"
    r"^(?P=indent)// --- end of protocol\.md: (?P=name) ---$",
    re.MULTILINE | re.DOTALL,
)
EXCERPT = re.compile(
    r"^(?P<indent>[ ]*)<!-- excerpt: (?P<path>\S+) (?P<name>[\w-]+) -->\n"
    r"(?P=indent)```\w*\n(?P<body>.*?)^(?P=indent)```\n(?P=indent)<!-- /excerpt -->",
    re.MULTILINE | re.DOTALL,
)
# What both examples print, line by line, when every step worked.
STEPS = [
    r"signed in as Ada \(guest-[0-9a-f]+\)",
    r"created room hello-[0-9a-f]{8} \(id \d+\)",
    r"subscribed to its messages",
    r'pushed: message (?P<sent>\d+) by Ada: "Hello from (Node|Python)"',
    r"socket closed",
    r"Bob posted message (?P<missed>\d+) over REST while Ada was away",
    r"reconnected(: dcrf-client re-sent the subscribe request| and subscribed again)",
    r'caught up: message (?P<caught_up>\d+) by Bob: "Ada, did you miss this\?"',
    r'pushed: message (?P<welcome>\d+) by Bob: "Welcome back"',
    r"done: 3 messages, each shown once",
]
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def regions() -> dict[tuple[str, str], str]:
    """Every marked region of the examples: (path, name) → its code, unindented."""
    found = {}
    for path in sorted(p for p in EXAMPLES.glob("*/*.*") if p.is_file()):
        for match in REGION.finditer(path.read_text()):
            found[str(path.relative_to(ROOT)), match["name"]] = textwrap.dedent(match["body"])
    return found


def excerpts() -> list[tuple[str, str, str, str]]:
    """Every excerpt block of the documents: (document, path, name, code unindented)."""
    return [
        (doc.name, match["path"], match["name"], textwrap.dedent(match["body"]))
        for doc in QUOTING
        for match in EXCERPT.finditer(doc.read_text())
    ]


def fenced_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced blocks of a text: (language, body without the last newline)."""
    return [(match["lang"], match["body"].rstrip("\n")) for match in FENCE.finditer(markdown)]


def readme_section(title: str = "Try it from a terminal") -> list[tuple[str, str]]:
    """The fenced blocks of a section of the README."""
    readme = (ROOT / "README.md").read_text()
    return fenced_blocks(readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0])


def test_docs_quote_the_examples_to_the_letter():
    quoted = regions()

    for doc, path, name, code in excerpts():
        assert (path, name) in quoted, f"{doc} quotes {path} {name}, which is not marked there"
        assert code == quoted[path, name], f"{doc} no longer quotes {path} {name} as it is"


def test_every_marked_region_is_quoted():
    quoted = {(path, name) for _, path, name, _ in excerpts()}

    assert quoted == set(regions()), "a region marked in examples/ is quoted by no document"
    assert ("examples/node/chat.mjs", "dcrf-client") in quoted


def test_readme_terminal_section_runs_the_examples_that_exist():
    commands = "\n".join(body for lang, body in readme_section() if lang == "sh")
    named = re.findall(r"examples/[\w/.-]+", commands)

    assert {"examples/python/chat.py", "examples/node"} <= set(named), commands
    assert "node chat.mjs" in commands
    assert all((ROOT / path).exists() for path in named), named


def test_readme_terminal_section_has_no_prompt_to_paste():
    """A ``> `` typed before a frame would be sent with it (issue 10)."""
    for _, body in readme_section():
        assert not any(line.startswith(">") for line in body.splitlines()), body


def test_examples_readme_shows_what_a_run_prints():
    [run] = [body for lang, body in fenced_blocks((EXAMPLES / "README.md").read_text())
             if lang == "text"]

    lines = run.splitlines()
    assert len(lines) == len(STEPS)
    for line, step in zip(lines, STEPS, strict=True):
        assert re.fullmatch(step, line), f"{line!r} is not {step!r}"
