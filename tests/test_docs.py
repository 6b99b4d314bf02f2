"""The documentation stays true: its command lines parse and pass `gvbench run`'s checks, its tox commands name
environments that exist, every flag is documented beside its command, its links and anchors resolve, the site's nav
names pages that exist, and its exit codes and schema versions are the code's.

Each check has a test that plants a mistake and sees it caught."""

from __future__ import annotations

import argparse
import ast
import configparser
import itertools
import re
import shlex
import signal
from pathlib import Path

import pytest
import yaml

import suite.cli as cli
from suite.choices import Status, StepStatus
from suite.cli import build_parser
from suite.errors import GvbenchError
from suite.store.schema import ADDED, SCHEMA_VERSION
from tests.conftest import ROOT

DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/**/*.md"), ROOT / "results" / "README.md"])
DOCS += sorted(ROOT.glob("results/*/README.md"))
GENERATED = {"reference/cli.md"}
"""Pages of the site that `docs/site_hooks.py` writes at build time, from the CLI's parser."""
COPIED = {"results/README.md"}
"""Pages of the site's nav that the hooks copy in from outside docs/."""
PLACEHOLDERS = {
    "DIR": "results",
    "BASE_DIR": "results/reference",
    "NEW_DIR": "results/speed",
    "REPORT_DIR": "report",
    "SUBDIR": "reference",
    "HEAD:6379": "127.0.0.1:6379",
    "B": "torch",
    "M": "DenseGAN",
}
"""Words the docs write for a value of the reader's; each stands for one such value."""
DOCUMENTED_CPUS = 2
"""The machine the docs' commands were written for: 2 CPUs (the checks of `--threads` and `--jobs` read it)."""


def shell_blocks(text: str) -> list[list[str]]:
    """The lines of every fenced shell block (not `text` output), indented fences included, each line dedented and
    without its trailing comment."""
    blocks, block, shell = [], None, False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            if block is None:
                block, shell = [], line.strip("`").strip() in ("", "bash", "sh", "console")
            else:
                if shell:
                    blocks.append(block)
                block = None
            continue
        if block is not None:
            block.append(re.sub(r"\s+#\s.*$", "", line).strip())
    return blocks


def expand(line: str, variables: dict[str, str]) -> str:
    """`line` with `$name` and `${name}` replaced by the block's values; an unknown variable raises KeyError."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables[m.group(1)], line)


def commands(text: str) -> list[str]:
    """Every `gvbench …` and `tox …` command of the fenced shell blocks, with the block's variables substituted
    (`name="…"` before it, or the first value of a `for name in …; do …; done` around it)."""
    found = []
    for block in shell_blocks(text):
        variables: dict[str, str] = {}
        for line in block:
            if assigned := re.fullmatch(r"(\w+)=(.*)", line):
                variables[assigned.group(1)] = " ".join(shlex.split(assigned.group(2)))
                continue
            if loop := re.fullmatch(r"for (\w+) in (.+?); do (.+?);? done", line):
                variables[loop.group(1)] = loop.group(2).split()[0]
                line = loop.group(3)
            if line.startswith(("gvbench ", "tox")):
                found.append(expand(line, variables))
    return found


def is_synopsis(line: str) -> bool:
    """A usage line (`gvbench parity [--backends ...]`) rather than a command to run."""
    return bool(re.search(r"[\[{]|\.\.\.|\bSET\b", line))


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def options(command: str) -> set[str]:
    return {s for a in subparsers()[command]._actions for s in a.option_strings if s.startswith("--")}


def check_gvbench(words: list[str]) -> str | None:
    """None where `gvbench WORDS` parses with today's CLI and, for `run` (and the run after `versions --`), passes
    the checks `gvbench run` makes before training; else why not."""
    words = [PLACEHOLDERS.get(word, word) for word in words]
    try:
        args = build_parser().parse_args(words)
        if args.command == "versions":
            run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
            return check_gvbench(["run", *run_args]) if run_args else "no gvbench run options after --"
        if args.command == "run":
            original = cli.usable_cpus
            cli.usable_cpus = lambda: DOCUMENTED_CPUS
            try:
                cli.check_run_args(args)
            finally:
                cli.usable_cpus = original
    except SystemExit:
        return "does not parse"
    except GvbenchError as e:
        return f"refused: {e}"
    return None


def check_synopsis(line: str) -> str | None:
    """None where a usage line names a subcommand and only options it has."""
    words = shlex.split(line)[1:]
    if not words or words[0] not in subparsers():
        return f"no subcommand {words[:1]}"
    unknown = sorted(set(re.findall(r"--[a-z][\w-]*", line)) - options(words[0]))
    return f"{words[0]} has no {', '.join(unknown)}" if unknown else None


def tox_envs() -> dict[str, str]:
    """Every tox environment tox.ini defines (factors expanded), with its `commands`."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    envs = {}
    for section in config.sections():
        if not section.startswith("testenv:"):
            continue
        name = section.split(":", 1)[1]
        factors = re.search(r"\{([^}]*)\}", name)
        names = [name.replace(factors.group(0), f) for f in factors.group(1).split(",")] if factors else [name]
        for expanded in names:
            envs[expanded] = config[section].get("commands", "")
    return envs


def check_tox(line: str) -> str | None:
    """None where `tox [-e ENV[,ENV]] [-- ARGS]` names environments of tox.ini and, where an environment runs
    `gvbench`, its ARGS pass as that command's (`{posargs}` replaced)."""
    words = shlex.split(line)
    args = words[words.index("--") + 1 :] if "--" in words else None
    words = words[: words.index("--")] if "--" in words else words
    envs = tox_envs()
    names = words[words.index("-e") + 1].split(",") if "-e" in words else []
    unknown = [name for name in names if name not in envs]
    if unknown:
        return f"tox.ini has no environment {', '.join(unknown)}"
    for name in names if args is not None else []:
        for command in envs[name].splitlines():
            command = re.sub(r"^\s*\w+:\s*", "", command).strip()
            if "{posargs" not in command or not command.startswith("gvbench "):
                continue
            filled = re.sub(r"\{posargs(:[^}]*)?\}", " ".join(shlex.quote(a) for a in args), command)
            if why := check_gvbench(shlex.split(filled)[1:]):
                return f"{name}: {why}"
    return None


def check_line(line: str) -> str | None:
    if line.startswith("tox"):
        return check_tox(line)
    if is_synopsis(line):
        return check_synopsis(line)
    return check_gvbench(shlex.split(line)[1:])


def test_every_command_line_in_the_docs_parses_and_passes_the_run_checks():
    found = {doc: commands(doc.read_text()) for doc in DOCS}
    assert sum(map(len, found.values())) >= 40, "the docs show commands"
    failures = [
        f"{doc.relative_to(ROOT)}: {why}: {line}"
        for doc, lines in found.items()
        for line in lines
        if (why := check_line(line))
    ]
    assert not failures, "\n".join(failures)


PLANTED = {
    "an indented fence with a wrong flag": (
        "- Made with:\n\n  ```bash\n  gvbench run --backend jax --proflie smoke\n  ```\n"
    ),
    "a $VAR line with a wrong flag": (
        '```bash\ncommon="--backend tensorflow --out results/x"\ngvbench run $common --modles CNNGAN\n```\n'
    ),
    "a wrong tox environment": "```bash\ntox -e bench-tensorflow\n```\n",
    "a wrong flag after tox -e bench-tf --": "```bash\ntox -e bench-tf -- --profile smoke --outt results/x\n```\n",
    "a wrong flag after versions --": (
        "```bash\ngvbench versions --sets installed -- --backend jax --proflie quick\n```\n"
    ),
    "a run gvbench would refuse before training": "```bash\ngvbench run --backend jax --impl tf_keras\n```\n",
    "a synopsis with another command's flag": "```bash\ngvbench parity [--backends ...] [--rounds 2]\n```\n",
    "a loop variable with a wrong value": "```bash\nfor b in tensorflw torch; do gvbench run --backend $b; done\n```\n",
}


@pytest.mark.parametrize("mistake", PLANTED, ids=list(PLANTED))
def test_a_planted_mistake_in_a_command_is_caught(mistake):
    lines = commands(PLANTED[mistake])
    assert lines and any(check_line(line) for line in lines), lines


def test_right_commands_pass():
    text = (
        '```bash\ncommon="--backend tensorflow --profile paper --out results/x"\n'
        "gvbench run $common --jobs 2 --threads 1 --models DenseGAN --lrs paper\n"
        "tox -e bench-tf -- --profile smoke --out results/first-look\n"
        "gvbench versions --sets installed -- --backend jax --profile quick --out results/history\n"
        "gvbench parity [--backends ...] [--models ...] [--golden tests/golden]\n```\n"
    )
    assert [check_line(line) for line in commands(text)] == [None] * 4


def sections(doc: Path) -> list[str]:
    """A page's text cut at its headings."""
    return re.split(r"\n(?=#{1,6} )", doc.read_text())


def undocumented_flags(docs: list[Path]) -> list[str]:
    """Each `command --flag` whose flag appears in no section of the docs that names `gvbench command`."""
    parts = [part for doc in docs for part in sections(doc)]
    missing = []
    for name in subparsers():
        mine = [part for part in parts if re.search(rf"gvbench {name}\b", part)]
        if not mine:
            missing.append(f"gvbench {name}")
        for flag in sorted(options(name) - {"--help"}):
            if not any(re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", part) for part in mine):
                missing.append(f"{name} {flag}")
    return missing


def test_every_flag_is_documented_beside_its_command():
    missing = undocumented_flags(DOCS)
    assert not missing, f"documented in no section that names the command: {missing}"


def test_a_flag_documented_only_beside_another_command_is_caught(tmp_path):
    page = tmp_path / "page.md"
    text = "\n\n".join(f"# {n}\n\n`gvbench {n}` " + " ".join(sorted(options(n))) for n in subparsers())
    page.write_text(text.replace("--rounds", "--r0unds") + "\n\n# Elsewhere\n\n`gvbench run` --rounds\n")
    assert undocumented_flags([page]) == ["versions --rounds"]


def anchors(doc: Path) -> set[str]:
    """The anchors a code host makes of a markdown file's headings: lowercase, punctuation dropped, `-` for spaces,
    `-1` on a repeat."""
    found, seen = set(), {}
    fenced = False
    for line in doc.read_text().splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def broken_links(doc: Path) -> list[str]:
    """Each relative link of `doc` whose file, or anchor in it, does not exist (a page the site generates counts)."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        generated = file.is_relative_to(ROOT / "docs") and str(file.relative_to(ROOT / "docs")) in GENERATED
        if not file.exists() and not generated:
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and not generated and anchor not in anchors(file):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(doc):
    assert not broken_links(doc), broken_links(doc)


def test_a_broken_link_is_caught(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](missing.md) [web](https://example.org)\n")
    assert broken_links(page) == ["#nowhere (no such heading)", "missing.md (no such file)"]


def nav_pages(config: dict) -> list[str]:
    """Every page mkdocs.yml's nav names."""

    def walk(entries) -> list[str]:
        found = []
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                found += walk(value) if isinstance(value, list) else [value]
        return found

    return walk(config["nav"])


def nav_problems(config: dict, docs: Path) -> list[str]:
    """Nav entries that name no page, and pages of docs/ the nav leaves out."""
    named = nav_pages(config)
    missing = [p for p in named if not (docs / p).is_file() and p not in GENERATED | COPIED]
    pages = {str(p.relative_to(docs)) for p in docs.rglob("*.md")}
    return [f"{p} (no such page)" for p in missing] + [f"{p} (not in the nav)" for p in sorted(pages - set(named))]


def mkdocs_config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.SafeLoader)


def test_the_sites_nav_names_every_page_and_only_pages():
    assert nav_problems(mkdocs_config(), ROOT / "docs") == []


def test_a_nav_entry_to_a_missing_page_is_caught():
    config = mkdocs_config()
    config["nav"].append({"Gone": "gone.md"})
    assert nav_problems(config, ROOT / "docs") == ["gone.md (no such page)"]


def code_exit_codes() -> set[int]:
    """Every exit code gvbench's commands return: each error's, the signals' (128 + signal), and the CLI's own."""

    def subclasses(cls: type) -> list[type]:
        return [cls, *itertools.chain.from_iterable(subclasses(c) for c in cls.__subclasses__())]

    import suite.profile  # noqa: F401  (its error class registers itself)
    import suite.store.folder  # noqa: F401

    codes = {cls.exit_code for cls in subclasses(GvbenchError)} | {128 + signal.SIGINT, 128 + signal.SIGTERM}
    tree = ast.parse((ROOT / "suite" / "cli.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
            codes.add(node.value.value)
        if isinstance(node, ast.IfExp) and all(isinstance(v, ast.Constant) for v in (node.body, node.orelse)):
            codes |= {v.value for v in (node.body, node.orelse) if isinstance(v.value, int)}
    return codes


def exit_table(text: str) -> dict[int, str]:
    """The rows of a page's exit-code table: each code it names, with its meaning."""
    rows = {}
    for codes, meaning in re.findall(r"^\| ([\d, ]+) \| (.+) \|$", text, re.MULTILINE):
        rows |= {int(code): meaning for code in re.findall(r"\d+", codes)}
    return rows


def exit_table_problems(text: str) -> list[str]:
    """Codes the table and the code do not share, and backticked words in it that are no status (of a cell or of a
    version set's step), command or flag."""
    rows = exit_table(text)
    problems = [f"{c} (not in the table)" for c in sorted(code_exit_codes() - set(rows))]
    problems += [f"{c} (no command returns it)" for c in sorted(set(rows) - code_exit_codes())]
    words = (
        {s.value for s in (*Status, *StepStatus)}
        | set(subparsers())
        | {f for name in subparsers() for f in options(name)}
    )
    for meaning in rows.values():
        problems += [f"`{w}` (no status, command or flag)" for w in re.findall(r"`([^`]+)`", meaning) if w not in words]
    return problems


@pytest.mark.parametrize("page", ["docs/reference/exit-codes.md", "README.md"])
def test_the_exit_code_tables_are_the_codes_gvbench_returns(page):
    assert exit_table_problems((ROOT / page).read_text()) == []


def test_a_stale_exit_code_table_is_caught():
    text = (ROOT / "docs" / "reference" / "exit-codes.md").read_text()
    stale = text.replace("`timeout`", "`timed out`").replace("| 3 |", "| 4 |")
    assert exit_table_problems(stale) == [
        "3 (not in the table)",
        "4 (no command returns it)",
        "`timed out` (no status, command or flag)",
    ]


def named_schema_versions(text: str) -> set[int]:
    return {int(v) for v in re.findall(r"[Ss]chema\W+(?:version\W+)?(\d+)", text)}


def test_the_docs_name_the_schema_version_the_code_writes_and_only_versions_that_exist():
    text = (ROOT / "results" / "README.md").read_text()
    assert f"schema version {SCHEMA_VERSION}" in text or f"Version {SCHEMA_VERSION} " in text
    for version in ADDED:
        assert f"Version {version} " in text or f"version {version}" in text, f"results/README.md: version {version}"
    for doc in DOCS:
        named = named_schema_versions(doc.read_text())
        assert named <= set(range(1, SCHEMA_VERSION + 1)), f"{doc.relative_to(ROOT)} names schema versions {named}"


def broken_site_links(site: Path) -> list[str]:
    """Every relative href or src of a built site's pages that names no file of the site."""
    broken = []
    for page in site.rglob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text(errors="replace")):
            if re.match(r"[a-z]+:|//", target):
                continue
            found = (site / target.lstrip("/")) if target.startswith("/") else page.parent / target
            if not (found / "index.html" if found.is_dir() else found).exists():
                broken.append(f"{page.relative_to(site)}: {target}")
    return broken


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The documentation site, built as `tox -e docs` builds it (strict: a warning fails)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    folder = tmp_path_factory.mktemp("site")
    build(load_config(str(ROOT / "mkdocs.yml"), site_dir=str(folder), strict=True))
    return folder


def test_the_built_site_stands_alone_and_its_home_shows_the_headline_figure(site):
    assert broken_site_links(site) == []
    home = (site / "index.html").read_text()
    figure = re.search(r'<img [^>]*src="([^"]*headline\.png)"', home)
    assert figure and (site / figure.group(1)).stat().st_size > 10_000, "the headline figure, copied into the site"
    assert "gvbench run" in (site / "reference" / "cli" / "index.html").read_text(), "the generated command reference"


def test_a_link_out_of_the_site_is_caught(tmp_path):
    (tmp_path / "index.html").write_text('<a href="page/">ok</a> <img src="../results/x.png"> <a href="gone.html">')
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text('<a href="../index.html">home</a>')
    assert broken_site_links(tmp_path) == ["index.html: ../results/x.png", "index.html: gone.html"]
