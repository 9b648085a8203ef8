"""The links at the top of every dashboard page, in the order of Microsoft's setup guide."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..pages import PAGES



def navigation(current: str, pages=PAGES) -> widgets.HTML:
    """Links to the dashboard pages, `current` (a notebook file name) highlighted."""
    links = "".join(
        f'<span aria-current="page">{html.escape(label)}</span>' if name == current
        else f'<a href="{html.escape(name)}">{html.escape(label)}</a>'
        for name, label in pages
    )
    return widgets.HTML(f'<nav class="cc-nav">{links}</nav>')
