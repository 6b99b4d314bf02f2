"""The rooms of the house: who may import whom, so that results are read in one place and sections stay apart."""

from __future__ import annotations

import ast
from pathlib import Path

from suite.report.sections import SECTIONS

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ROOT / "suite" / "cli.py"
"""The command line runs `gvbench report` and `gvbench history`: the one module outside the report package that
calls into it, and only for its two page writers."""
COMMAND_IMPORTS = {"suite.report.build_report", "suite.report.history_page.write_history"}


def imports(path: Path) -> set[str]:
    """Every module (and `module.name` for a `from module import name`) a Python file imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def sources(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def reaches_report(names: set[str]) -> set[str]:
    return {n for n in names if n == "suite.report" or n.startswith("suite.report.")}


def test_nothing_outside_the_report_package_reads_results_through_it():
    outside = [
        p
        for p in sources("suite", "runners", "architectures", "benchmarks")
        if ROOT / "suite" / "report" not in p.parents
    ]
    found = {
        str(p.relative_to(ROOT)): sorted(reaches_report(imports(p)))
        for p in outside
        if p != COMMANDS and reaches_report(imports(p))
    }
    assert found == {}, "read results through suite.store, print numbers through suite.formatting"


def test_the_command_line_calls_the_report_only_for_its_page_writers():
    found = reaches_report(imports(COMMANDS))
    assert found - {"suite.report", "suite.report.history_page"} <= COMMAND_IMPORTS, found


def test_no_section_imports_another():
    names = {section.__name__ for section in SECTIONS}
    for section in SECTIONS:
        path = Path(section.__file__)
        reached = {n for n in imports(path) for s in names if n == s or n.startswith(s + ".")}
        sibling = {n for n in imports(path) if n == "suite.report.sections"}
        assert not reached and not sibling, f"{path.name} imports {sorted(reached | sibling)}"


def test_the_store_does_not_depend_on_what_reads_it():
    for path in sources("suite/store"):
        found = {n for n in imports(path) if n.split(".")[:2] in (["suite", "report"], ["suite", "compare"])}
        found |= {n for n in imports(path) if n.startswith(("suite.history", "suite.cli"))}
        assert not found, f"{path.name} imports {sorted(found)}"


def test_the_check_sees_a_planted_import(tmp_path):
    planted = tmp_path / "reader.py"
    planted.write_text("def f():\n    from suite.report.tables import epoch_frame\n")
    assert reaches_report(imports(planted)) == {"suite.report.tables", "suite.report.tables.epoch_frame"}
