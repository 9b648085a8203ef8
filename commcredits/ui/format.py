"""Turn ledger data into text and HTML for people: locale-aware money and dates, escaped tables."""

from __future__ import annotations

import html
import os
from decimal import Decimal

import pandas as pd
from babel.dates import format_date, format_datetime

from ..money import format_money


def display_locale() -> str:
    """The locale used for money and dates: COMMCREDITS_LOCALE, default en_US."""
    return os.environ.get("COMMCREDITS_LOCALE", "en_US")


def money(amount, currency: str, locale: str | None = None) -> str:
    return format_money(Decimal(amount), currency, locale or display_locale())


def day(value, locale: str | None = None) -> str:
    if value is None or pd.isna(value):
        return ""
    return format_date(pd.Timestamp(value).to_pydatetime(), format="medium", locale=locale or display_locale())


def instant(value, locale: str | None = None) -> str:
    if value is None or pd.isna(value):
        return ""
    return format_datetime(pd.Timestamp(value).to_pydatetime(), format="short", tzinfo=None,
                           locale=locale or display_locale())


def error_html(message: str) -> str:
    """A message shown in red in a form (plain text, escaped)."""
    return f'<div class="cc-error">{html.escape(message)}</div>'


def card(label: str, value: str, note: str = "", css: str = "", data: str = "") -> str:
    """A summary card: small label, big value, a note; `data` adds attributes (already escaped)."""
    return (
        f'<div class="cc-card {css}"{" " + data if data else ""}><div class="cc-label">{html.escape(label)}</div>'
        f'<div class="cc-value">{html.escape(value)}</div><div class="cc-note">{html.escape(note)}</div></div>'
    )


def html_table(frame: pd.DataFrame, *, money_columns=(), day_columns=(), instant_columns=(), currency="USD",
               labels: dict[str, str] | None = None, css_class: str = "cc-table", locale: str | None = None) -> str:
    """An escaped HTML table with money right-aligned and dates formatted for the locale."""
    labels = labels or {}
    columns = list(labels) if labels else list(frame.columns)

    def cell(column, value):
        if column in money_columns:
            return f'<td class="cc-money">{html.escape(money(value, currency, locale))}</td>'
        if column in day_columns:
            return f"<td>{html.escape(day(value, locale))}</td>"
        if column in instant_columns:
            return f"<td>{html.escape(instant(value, locale))}</td>"
        return f"<td>{html.escape('' if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)) else str(value))}</td>"

    head = "".join(
        f'<th class="{"cc-money" if c in money_columns else ""}">{html.escape(labels.get(c, c))}</th>' for c in columns
    )
    body = "".join("<tr>" + "".join(cell(c, row[c]) for c in columns) + "</tr>" for _, row in frame.iterrows())
    if frame.empty:
        body = f'<tr><td colspan="{len(columns)}" class="cc-empty">Nothing yet.</td></tr>'
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """
<style>
.cc-page { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; }
.cc-cards { display: flex; gap: 16px; flex-wrap: wrap; margin: 8px 0 16px; }
.cc-card { border: 1px solid #d6d6d6; border-radius: 8px; padding: 12px 16px; min-width: 200px; background: #fafafa; }
.cc-card .cc-label { font-size: 12px; color: #555; text-transform: uppercase; letter-spacing: .04em; }
.cc-card .cc-value { font-size: 24px; font-weight: 600; margin-top: 4px; }
.cc-card .cc-note { font-size: 12px; color: #555; margin-top: 4px; }
.cc-warning { color: #a4262c; }
.cc-readiness { margin: 0 0 12px; font-size: 14px; }
.cc-table { border-collapse: collapse; font-size: 13px; margin: 4px 0 16px; }
.cc-table th, .cc-table td { border-bottom: 1px solid #e1e1e1; padding: 4px 10px; text-align: left; }
.cc-table th { background: #f3f2f1; font-weight: 600; }
.cc-table .cc-money { text-align: right; font-variant-numeric: tabular-nums; }
.cc-table .cc-empty { color: #777; font-style: italic; }
.cc-error { color: #a4262c; font-weight: 600; }
.cc-success { color: #0b6a0b; background: #dff6dd; border: 1px solid #9fd89f; border-radius: 6px; padding: 8px 12px; }
h2.cc-title { margin: 4px 0 4px; font-weight: 600; }
h3.cc-section { margin: 16px 0 4px; font-weight: 600; font-size: 16px; }
</style>
"""
