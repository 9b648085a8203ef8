"""The links at the top of every dashboard page, in the order of Microsoft's setup guide."""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..pages import PAGES

NAV_STYLE = """<style>
.cc-nav { display: flex; gap: 4px; margin: 0 0 12px; font-family: system-ui, sans-serif; flex-wrap: wrap; }
.cc-nav a, .cc-nav span { padding: 6px 12px; border-radius: 6px; text-decoration: none; font-size: 14px; }
.cc-nav a { color: #0f548c; background: #eff6fc; }
.cc-nav span { color: white; background: #0f548c; font-weight: 600; }
</style>"""


def navigation(current: str, pages=PAGES) -> widgets.HTML:
    """Links to the dashboard pages, `current` (a notebook file name) highlighted."""
    links = "".join(
        f'<span aria-current="page">{html.escape(label)}</span>' if name == current
        else f'<a href="{html.escape(name)}">{html.escape(label)}</a>'
        for name, label in pages
    )
    return widgets.HTML(f'{NAV_STYLE}<nav class="cc-nav">{links}</nav>')
