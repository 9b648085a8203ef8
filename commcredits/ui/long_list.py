"""A long list on a page: one page of rows at a time with Previous / Next ("Rows 51–100 of 1,234"), and the
whole list as a CSV download.

The rows come from a `commcredits.rows.RowSource`, so a page reads only the rows it shows (SQL LIMIT/OFFSET);
the CSV is built only when the admin asks for it, then offered as a link (a data: URI, no server round
trip), with every cell that a spreadsheet would run as a formula written as text (`safety`).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd

from ..rows import RowSource
from ..safety import neutralise_formula
from . import format as fmt

PAGE_SIZE = 50
STYLE = """<style>
.cc-pager { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 2px 0 10px; }
.cc-pager .cc-position { font-size: 13px; color: #323130; min-width: 11em; }
.cc-long-list table.cc-table { max-height: 30em; overflow-y: auto; }  /* a page of rows scrolls in its own box */
.cc-long-list table.cc-table thead th { position: sticky; top: 0; }
.cc-download-ready a { padding: 5px 12px; border-radius: 4px; background: #eff6fc; color: #0f548c;
    border: 1px solid #c7e0f4; text-decoration: none; font-size: 13px; }
</style>"""


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text for a spreadsheet: formula-looking text cells are written as text."""
    out = io.StringIO()
    frame.map(neutralise_formula).to_csv(out, index=False, lineterminator="\n")
    return out.getvalue()


def download_link(text: str, filename: str, label: str, mime: str, css: str) -> str:
    """An anchor that saves `text` as `filename` (a data: URI works in Voila: no server round trip)."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        f'<a class="{css}" download="{html.escape(filename)}" href="data:{mime};charset=utf-8;base64,{payload}">'
        f"{html.escape(label)}</a>"
    )


def position_text(offset: int, shown: int, total: int, noun: str = "rows", locale: str | None = None) -> str:
    """'Rows 51–100 of 1,234' (or 'No rows'), numbers grouped for the locale."""
    if total == 0:
        return f"No {noun}"
    first, last, total = (fmt.count(n, locale) for n in (offset + 1, offset + shown, total))
    return f"{noun[:1].upper()}{noun[1:]} {first}–{last} of {total}"


def _size(text: str) -> str:
    size = len(text.encode("utf-8"))
    return f"{size / 1024:,.0f} KB" if size >= 1024 else f"{size} bytes"


class LongList:
    """Page through `source` (`render` turns one page into HTML) and download all of it as `filename`.

    `export` turns the full list into the CSV's columns (headers in the admin's words). `widget` is what a
    page displays; `show()` reads the count and the first page again (after an import, a settlement...)."""

    def __init__(
        self,
        source: RowSource,
        render: Callable[[pd.DataFrame], str],
        *,
        filename: str,
        export: Callable[[pd.DataFrame], pd.DataFrame] = lambda frame: frame,
        noun: str = "rows",
        page_size: int = PAGE_SIZE,
        css: str = "",
        locale: str | None = None,
    ):
        self.source, self.render, self.export = source, render, export
        self.filename, self.noun, self.page_size = filename, noun, page_size
        self.locale = locale
        self.offset = 0
        self.total = 0
        self.table = widgets.HTML()
        self.table.add_class("cc-list-rows")
        self.position = widgets.HTML()
        self.position.add_class("cc-position")
        self.previous = widgets.Button(
            description="Previous",
            icon="chevron-left",
            layout=widgets.Layout(width="auto"),
            tooltip=f"The previous {page_size} {noun}",
        )
        self.previous.add_class("cc-previous")
        self.next = widgets.Button(
            description="Next",
            icon="chevron-right",
            layout=widgets.Layout(width="auto"),
            tooltip=f"The next {page_size} {noun}",
        )
        self.next.add_class("cc-next")
        self.download = widgets.Button(
            description="Download all (CSV)", icon="download", layout=widgets.Layout(width="auto")
        )
        self.download.add_class("cc-download-all")
        self.link = widgets.HTML()
        self.link.add_class("cc-download-ready")
        self.previous.on_click(lambda _b: self.show_page(self.offset - self.page_size))
        self.next.on_click(lambda _b: self.show_page(self.offset + self.page_size))
        self.download.on_click(lambda _b: self.prepare_download())
        self.pager = widgets.HBox([self.previous, self.position, self.next, self.download, self.link])
        self.pager.add_class("cc-pager")
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.pager, self.table])
        self.widget.add_class("cc-long-list")
        if css:
            self.widget.add_class(css)

    def show(self) -> None:
        """Count the rows again and show the first page."""
        self.total = self.source.count()
        self.link.value = ""
        self.show_page(0)

    def show_page(self, offset: int) -> None:
        """Show the page that starts at row `offset` (0-based; kept within the list)."""
        last = max(0, (self.total - 1) // self.page_size * self.page_size)
        self.offset = min(max(0, offset), last)
        rows = self.source.page(self.offset, self.page_size)
        self.table.value = self.render(rows)
        self.position.value = html.escape(position_text(self.offset, len(rows), self.total, self.noun, self.locale))
        self.previous.disabled = self.offset == 0
        self.next.disabled = self.offset + self.page_size >= self.total
        self.download.description = (
            f"Download all {fmt.count(self.total, self.locale)} (CSV)"
            if self.total > self.page_size
            else "Download (CSV)"
        )
        self.download.disabled = self.total == 0
        # one page is all there is: no pager to read past; nothing at all: the table says so, nothing to download
        for part in (self.previous, self.next):
            part.layout.display = "none" if self.total <= self.page_size else None
        self.pager.layout.display = "none" if self.total == 0 else None

    def csv(self) -> str:
        """The whole list as CSV text (every row, headers in the admin's words, formulas written as text)."""
        return self._csv()[0]

    def _csv(self) -> tuple[str, int]:
        frame = self.export(self.source.all())
        return csv_text(frame), len(frame)

    def prepare_download(self) -> None:
        """Build the CSV of every row (as the list is now) and offer it as a link beside the button."""
        text, rows = self._csv()
        self.link.value = download_link(
            text,
            self.filename,
            f"Save {self.filename} ({fmt.count(rows, self.locale)} {self.noun}, {_size(text)})",
            "text/csv",
            "cc-download-csv",
        )
