"""report.html opened in headless Chromium, as a reader opens it: every image loads, nothing fails or leaves the
file, and the page fits a 1,280-pixel window."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from suite.report import build_report

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM = os.environ.get("GVBENCH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="the test extra's playwright is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: install Debian's `chromium` (.ci/run does as root) or set GVBENCH_CHROMIUM",
)


def problems(page_file: Path) -> list[str]:
    """What a reader would hit opening `page_file`: broken images, console errors, requests, sideways scrolling."""
    found = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.on("console", lambda m: found.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda error: found.append(f"script error: {error}"))
        page.on("requestfailed", lambda r: found.append(f"failed request: {r.url[:80]}"))
        page.on(
            "request", lambda r: None if r.url.startswith(("file:", "data:")) else found.append(f"request: {r.url}")
        )
        page.goto(page_file.as_uri(), wait_until="load")
        images = page.evaluate("Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])")
        found += [f"image not loaded: {alt}" for alt, complete, width in images if not complete or width == 0]
        if not images:
            found.append("no images on the page")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > VIEWPORT["width"]:
            found.append(f"page is {width} px wide in a {VIEWPORT['width']} px window")
        browser.close()
    return found


@pytest.fixture(scope="module")
def shipped_report(tmp_path_factory) -> Path:
    """The report of the shipped reference results, built by this code (every section and figure kind)."""
    return build_report(ROOT / "results" / "reference", tmp_path_factory.mktemp("report")) / "report.html"


def test_the_report_opens_whole_in_a_browser(shipped_report):
    assert problems(shipped_report) == []


def test_a_corrupted_embedded_image_is_caught(shipped_report, tmp_path):
    page = shipped_report.read_text()
    first = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]{64})", page)
    broken = page[: first.start(1)] + "A" * 64 + page[first.end(1) :]  # signature and header zeroed
    (tmp_path / "report.html").write_text(broken)
    found = problems(tmp_path / "report.html")
    assert len(found) == 1 and found[0].startswith("image not loaded: Steady-state epoch time"), found


def test_a_page_wider_than_the_window_is_caught(shipped_report, tmp_path):
    page = shipped_report.read_text().replace("<body>", '<body><div style="width: 2000px">wide</div>', 1)
    (tmp_path / "report.html").write_text(page)
    found = problems(tmp_path / "report.html")
    assert len(found) == 1 and re.fullmatch(r"page is 2\d\d\d px wide in a 1280 px window", found[0]), found


def test_the_history_page_opens_whole_in_a_browser(tmp_path):
    from suite.report.history_page import write_history
    from tests.test_history import VERSIONS, write_runs

    write_runs(tmp_path, {v: (0.013 if VERSIONS.index(v) >= 3 else 0.010) for v in VERSIONS}, noise=0.03)
    out, _, changes = write_history([tmp_path], tmp_path / "history", 1.10)
    assert len(changes) == 1
    assert problems(out / "history.html") == []
