"""MkDocs hooks: the site stands alone. Pages read on a code host link to the shipped results (`../results/...`) and
to the code; at build time every file a page links to outside docs/ is copied into the site at its place in the
repository, a shipped run's README as a page and its report as the self-contained report.html, and the links are
rewritten to the copies. The command reference is generated from the CLI's own parser, so it cannot drift."""

from __future__ import annotations

import os
import posixpath
import re
import sys
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
DOCS = "docs"
LINK = re.compile(r"(\]\()([^)\s#]+)((?:#[^)\s]*)?\))")
"""A markdown link or image target (up to its anchor), relative or not."""
CLI_PAGE = "reference/cli.md"


def _outside(target: str) -> bool:
    return not re.match(r"^[a-z]+:|^/|^#", target)


def _resolve(page: str, target: str) -> str | None:
    """The repository path a relative link of the page at repository path `page` points to (None: not a file)."""
    found = posixpath.normpath(posixpath.join(posixpath.dirname(page), target))
    return found if not found.startswith("..") and (ROOT / found).is_file() else None


def _site_path(repo_path: str) -> str:
    """Where a repository file lies in the site: docs/ pages at the root, everything else at its own path."""
    if repo_path.startswith(DOCS + "/"):
        return repo_path[len(DOCS) + 1 :]
    if repo_path.endswith(".md") and not repo_path.endswith("README.md"):
        html = repo_path[: -len(".md")] + ".html"  # a report: its self-contained HTML
        return html if (ROOT / html).is_file() else repo_path
    return repo_path


def _links(repo_path: str) -> list[str]:
    """The repository files a markdown file links to."""
    text = (ROOT / repo_path).read_text(encoding="utf-8")
    found = (_resolve(repo_path, m.group(2)) for m in LINK.finditer(text) if _outside(m.group(2)))
    return [f for f in found if f]


COPIED: set[str] = set()
"""The repository files outside docs/ copied into the site (each at its repository path)."""


def _copied(pages: list[str]) -> set[str]:
    """Every file outside docs/ that the pages link to, following the READMEs they reach."""
    copied: set[str] = set()
    todo = list(pages)
    while todo:
        for target in _links(todo.pop()):
            site = _site_path(target)
            if target.startswith(DOCS + "/") or site in copied:
                continue
            copied.add(site)
            if site.endswith("README.md"):
                todo.append(site)
    return copied


def _cli_reference() -> str:
    """Every command's usage and options, as `gvbench COMMAND --help` prints them."""
    sys.path.insert(0, str(ROOT))
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width: the same page on every machine
    from suite.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    parts = [
        "# Command reference",
        "",
        "*Generated from the CLI's own parser when the site is built: what `gvbench COMMAND --help` prints.*",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
    ]
    for name, sub in commands.choices.items():
        parts += ["", f"## gvbench {name}", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def on_files(files: Files, config) -> Files:
    pages = [f"{DOCS}/{f.src_uri}" for f in files if f.src_uri.endswith(".md")]
    COPIED.clear()
    COPIED.update(_copied(pages))
    for path in sorted(COPIED):
        files.append(File.generated(config, path, abs_src_path=str(ROOT / path)))
    files.append(File.generated(config, CLI_PAGE, content=_cli_reference()))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Links that leave docs/ point at their copies in the site."""
    here = page.file.src_uri if page.file.src_uri in COPIED else f"{DOCS}/{page.file.src_uri}"

    def rewrite(match: re.Match) -> str:
        target = match.group(2)
        if not _outside(target):
            return match.group(0)
        found = _resolve(here, target)
        if found is None:
            return match.group(0)
        site = _site_path(found)
        relative = posixpath.relpath(site, posixpath.dirname(page.file.src_uri) or ".")
        return f"{match.group(1)}{relative}{match.group(3)}"

    return LINK.sub(rewrite, markdown)
