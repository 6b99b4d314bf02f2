"""The documentation stays true: its command lines parse, every flag is documented, its links and anchors resolve,
and it names the schema version the code writes."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from suite.cli import build_parser
from suite.store.schema import SCHEMA_VERSION
from tests.conftest import ROOT

DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("results/README.md")])
DOCS += sorted(ROOT.glob("results/*/README.md"))
PLACEHOLDERS = {
    "DIR": "results",
    "BASE_DIR": "results/reference",
    "NEW_DIR": "results/speed",
    "REPORT_DIR": "report",
    "SUBDIR": "reference",
    "HEAD:6379": "127.0.0.1:6379",
}
"""Words the docs write for a value of the reader's; each stands for one such value."""


def command_lines(text: str) -> list[str]:
    """Every `gvbench …` line of the fenced shell blocks (not `text` output), without its comment, but usage
    synopses and lines with a shell variable."""
    lines, fenced, shell = [], False, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            shell = fenced and line.strip("`").strip() in ("", "bash", "sh", "console")
            continue
        line = line.split("  #")[0].strip()
        if shell and line.startswith("gvbench ") and not re.search(r"[{\[$]|\.\.\.", line):
            lines.append(line)
    return lines


def parses(line: str) -> str | None:
    """None where the command line parses with today's CLI, else why not."""
    words = [PLACEHOLDERS.get(word, word) for word in shlex.split(line)[1:]]
    try:
        build_parser().parse_args(words)
    except SystemExit:
        return f"does not parse: {line}"
    return None


def test_every_command_line_in_the_docs_parses():
    found = {doc: command_lines(doc.read_text()) for doc in DOCS}
    assert sum(map(len, found.values())) >= 10, "the docs show commands"
    failures = [
        f"{doc.relative_to(ROOT)}: {why}" for doc, lines in found.items() for line in lines if (why := parses(line))
    ]
    assert not failures, "\n".join(failures)


def test_a_wrong_flag_in_a_command_line_is_caught():
    assert parses("gvbench run --backend jax --profile smoke") is None
    assert parses("gvbench run --backend jax --proflie smoke") is not None


def cli_words() -> set[str]:
    """Every subcommand and option string the CLI has."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    words = set(commands.choices)
    for sub in commands.choices.values():
        words |= {s for action in sub._actions for s in action.option_strings if s.startswith("--") and s != "--help"}
    return words


def test_every_subcommand_and_flag_is_documented():
    text = "\n".join(doc.read_text() for doc in DOCS)
    missing = sorted(word for word in cli_words() if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text))
    assert not missing, f"documented nowhere in README.md, docs/ or results/: {missing}"


def anchors(doc: Path) -> set[str]:
    """The anchors a code host makes of a markdown file's headings: lowercase, punctuation dropped, `-` for spaces,
    `-1` on a repeat."""
    found, seen = set(), {}
    fenced = False
    for line in doc.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def broken_links(doc: Path) -> list[str]:
    """Each relative link of `doc` whose file, or anchor in it, does not exist."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(doc):
    assert not broken_links(doc), broken_links(doc)


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](missing.md) [web](https://example.org)\n")
    assert broken_links(page) == ["#nowhere (no such heading)", "missing.md (no such file)"]


def test_the_docs_name_the_schema_version_the_code_writes():
    text = (ROOT / "results" / "README.md").read_text()
    assert f"schema version {SCHEMA_VERSION}" in text or f"Version {SCHEMA_VERSION} " in text
    named = {int(v) for doc in DOCS for v in re.findall(r"[Ss]chema\W+(?:version\W+)?(\d+)", doc.read_text())}
    assert max(named) == SCHEMA_VERSION, (
        f"the docs name schema versions {sorted(named)}; the code writes {SCHEMA_VERSION}"
    )
