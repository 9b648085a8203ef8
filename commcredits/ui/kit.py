"""Small widget helpers the pages share: a widget with its CSS classes in one call, a section heading."""

from __future__ import annotations

import html

import ipywidgets as widgets


def tagged(widget: widgets.DOMWidget, *classes: str) -> widgets.DOMWidget:
    """`widget` with the CSS classes (of the stylesheet in the Voila template) added; returns it."""
    for css in classes:
        for name in css.split():
            widget.add_class(name)
    return widget


def html_part(*classes: str, value: str = "", **kwargs) -> widgets.HTML:
    """An HTML widget with CSS classes: a status line, a result, a note."""
    return tagged(widgets.HTML(value, **kwargs), *classes)


def section(title: str, hint: str = "") -> widgets.HTML:
    """A section's heading with an optional hint under it (`hint` is HTML)."""
    return widgets.HTML(
        f'<h3 class="cc-section">{html.escape(title)}</h3>' + (f'<div class="cc-hint">{hint}</div>' if hint else "")
    )
