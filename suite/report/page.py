"""One list of blocks, rendered twice: `report.md` (figures linked) and `report.html` (figures embedded)."""

from __future__ import annotations

import base64
import html
import numbers
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from suite.files import atomic_write
from suite.formatting import number


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    frame: pd.DataFrame
    kind: str = "precise"


@dataclass
class Figure:
    """A figure; its title is drawn inside the image, `alt` describes it for readers who cannot see it."""

    png: Path
    alt: str


@dataclass
class Details:
    """Blocks folded away under a one-line summary (`<details>`), for what most readers skip."""

    summary: str
    blocks: list = field(default_factory=list)


@dataclass
class Contents:
    """A table of contents: links to every heading of level 2 and 3 on the page."""


Block = Heading | Text | Bullets | Table | Figure | Details | Contents
CONTENTS_LEVELS = (2, 3)


def slugs(blocks: list[Block]) -> list[str]:
    """Each heading's anchor, the way GitHub makes them: lowercase, punctuation dropped, `-` for spaces, `-1` on
    a repeat."""
    seen: Counter = Counter()
    found = []
    for block in blocks:
        if isinstance(block, Heading):
            slug = re.sub(r"[^\w\- ]", "", block.text.lower()).replace(" ", "-")
            found.append(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    return found


def _contents(blocks: list[Block]) -> list[tuple[int, str, str]]:
    """(level, text, anchor) of the headings a table of contents lists."""
    headings = [b for b in blocks if isinstance(b, Heading)]
    return [(h.level, h.text, s) for h, s in zip(headings, slugs(blocks), strict=True) if h.level in CONTENTS_LEVELS]


SHORT_TEXT = 24
"""Text cells up to this many characters never wrap (an lr `1e-06` or `ok` must not break mid-token)."""


def _cell(value: object, kind: str) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else number(value, kind)
    return "" if value is None or value is pd.NA else str(value)


def _formatted(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Every cell as text; a pivot's leftover `columns.name` dropped (it would print as an empty first column)."""
    return frame.rename_axis(columns=None).map(lambda v: _cell(v, kind))


def _cell_class(value: object, text: str) -> str:
    """`num` (right, never wrapped), `short` (left, never wrapped) or `text` (left, wrapped at spaces)."""
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return "num"
    return "short" if len(text) <= SHORT_TEXT else "text"


def _table_html(frame: pd.DataFrame, kind: str) -> str:
    """A table inside a box that scrolls sideways on its own, so a wide table never widens the page."""
    texts = _formatted(frame, kind)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in texts.columns)
    rows = []
    for (_, values), (_, cells) in zip(frame.iterrows(), texts.iterrows(), strict=True):
        tds = "".join(
            f'<td class="{_cell_class(v, t)}">{html.escape(t)}</td>' for v, t in zip(values, cells, strict=True)
        )
        rows.append(f"<tr>{tds}</tr>")
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _markdown_table(frame: pd.DataFrame, kind: str) -> str:
    """The table as text exactly as `_cell` wrote it (tabulate would read `1e-04` back as a number and print
    0.0001), numbers right-aligned."""
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame.columns
    ]
    align = ["right" if n else "left" for n in numeric]
    return _formatted(frame, kind).to_markdown(index=False, disable_numparse=True, colalign=align)


def to_markdown(blocks: list[Block], folder: Path) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Contents):
            top = min(CONTENTS_LEVELS)
            parts.append("\n".join(f"{'  ' * (lv - top)}- [{text}](#{a})" for lv, text, a in _contents(blocks)))
        elif isinstance(block, Details):
            inner = to_markdown(block.blocks, folder)
            parts.append(f"<details><summary>{html.escape(block.summary)}</summary>\n\n{inner}\n</details>")
        elif isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(_markdown_table(block.frame, block.kind))
        else:
            png = block.png.relative_to(folder).as_posix()
            svg = block.png.with_suffix(".svg").relative_to(folder).as_posix()
            parts.append(f"![{block.alt}]({png})\n\n([SVG]({svg}))")
    return "\n\n".join(parts) + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
div.table { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; }
th { background: #f0f0f0; text-align: left; }
td.num { text-align: right; white-space: nowrap; } td.short { text-align: left; white-space: nowrap; }
td.text { text-align: left; min-width: 16em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; }
details { margin: 1em 0; } summary { cursor: pointer; color: #0550ae; }
nav ul { list-style: none; padding-left: 1.2em; } nav > ul { padding-left: 0; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _inline(text: str) -> str:
    """Escape text; `code` spans become <code>."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _html_body(blocks: list[Block], page: list[Block]) -> list[str]:
    body = []
    anchors = iter(slugs(blocks))
    for block in blocks:
        if isinstance(block, Contents):
            items, level = [], min(CONTENTS_LEVELS)
            for lv, text, anchor in _contents(page):
                while level < lv:
                    items.append("<ul>")
                    level += 1
                while level > lv:
                    items.append("</ul>")
                    level -= 1
                items.append(f'<li><a href="#{anchor}">{_inline(text)}</a></li>')
            items += ["</ul>"] * (level - min(CONTENTS_LEVELS))
            body.append("<nav><h2>Contents</h2><ul>" + "".join(items) + "</ul></nav>")
        elif isinstance(block, Details):
            inner = "\n".join(_html_body(block.blocks, page))
            body.append(f"<details><summary>{_inline(block.summary)}</summary>\n{inner}\n</details>")
        elif isinstance(block, Heading):
            tag = f"h{block.level}"
            body.append(f'<{tag} id="{next(anchors)}">{_inline(block.text)}</{tag}>')
        elif isinstance(block, Text):
            body.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            body.append(_table_html(block.frame, block.kind))
        else:
            data = base64.b64encode(block.png.read_bytes()).decode()
            body.append(f'<figure><img alt="{html.escape(block.alt)}" src="data:image/png;base64,{data}"></figure>')
    return body


def write_page(out: Path, name: str, title: str, blocks: list[Block], csvs: dict[str, pd.DataFrame]) -> Path:
    """Write a page's CSVs, then `name.md` and `name.html` (each file replaced atomically) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for file, frame in csvs.items():
        with atomic_write(out / file) as f:
            f.write(frame.to_csv(index=False).encode())
    with atomic_write(out / f"{name}.md") as f:
        f.write(to_markdown(blocks, out).encode())
    with atomic_write(out / f"{name}.html") as f:
        f.write(to_html(blocks, title).encode())
    return out / f"{name}.html"


def to_html(blocks: list[Block], title: str) -> str:
    """A self-contained page: styles inline, every figure embedded as a base64 PNG."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(_html_body(blocks, blocks)) + "\n</body></html>\n"
    )
