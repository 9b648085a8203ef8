"""Turn ledger data into text and HTML for people: locale-aware money and dates, escaped tables."""

from __future__ import annotations

import asyncio
import html
import os
import warnings
from datetime import UTC
from decimal import Decimal
from http.cookies import SimpleCookie
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal

from ..money import format_money


def display_locale() -> str:
    """The locale used for money and dates: COMMCREDITS_LOCALE, default en_US."""
    return os.environ.get("COMMCREDITS_LOCALE", "en_US")


def money(amount, currency: str, locale: str | None = None) -> str:
    return format_money(Decimal(amount), currency, locale or display_locale())


def count(n: int, locale: str | None = None) -> str:
    """A whole number with the locale's grouping: '103,950' (en_US), '103.950' (de_DE)."""
    return format_decimal(int(n), locale=locale or display_locale())


def day(value, locale: str | None = None) -> str:
    if value is None or pd.isna(value):
        return ""
    return format_date(pd.Timestamp(value).to_pydatetime(), format="medium", locale=locale or display_locale())


_tenant_timezone: str | None = None


def use_tenant_timezone(name: str | None) -> None:
    """Show times in the time zone the ledger's setup chose when neither COMMCREDITS_TIMEZONE nor the
    browser names one."""
    global _tenant_timezone
    _tenant_timezone = name


def admin_timezone():
    """The admin's time zone: the COMMCREDITS_TIMEZONE setting, else the browser's (the page template stores
    it in the `cc_tz` cookie, which Voila hands the kernel as HTTP_COOKIE), else the one the ledger's setup
    chose, else UTC."""
    name = os.environ.get("COMMCREDITS_TIMEZONE")
    if not name:
        cookie = SimpleCookie()
        try:
            cookie.load(os.environ.get("HTTP_COOKIE", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header means "no preference"
            pass
        name = unquote(cookie["cc_tz"].value) if "cc_tz" in cookie else (_tenant_timezone or "")
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def instant(value, locale: str | None = None, tz=None) -> str:
    """A moment in the admin's time zone, with month name and zone: 'Nov 26, 2026, 3:09 AM PST'."""
    if value is None or pd.isna(value):
        return ""
    locale = locale or display_locale()
    tz = tz or admin_timezone()
    local = _utc(value).to_pydatetime().astimezone(tz)
    zone = "UTC" if tz is UTC else format_datetime(local, "z", tzinfo=tz, locale=locale)
    return f"{format_date(local, 'medium', locale=locale)}, {format_time(local, 'short', locale=locale)} {zone}"


def _utc(value) -> pd.Timestamp:
    """The ledger stores UTC; a naive value is UTC too."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def utc_text(value) -> str:
    """The same moment in UTC, for hover text and exports: '2026-11-26 11:09 UTC'."""
    if value is None or pd.isna(value):
        return ""
    return _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def instant_html(value, locale: str | None = None) -> str:
    """A moment for admins, its UTC time on hover."""
    if value is None or pd.isna(value):
        return ""
    return (
        f'<time datetime="{_utc(value).isoformat()}" title="{utc_text(value)}">'
        f"{html.escape(instant(value, locale))}</time>"
    )


def month(value, locale: str | None = None) -> str:
    """A month with its name: 'March 2025'."""
    return format_date(pd.Timestamp(value).to_pydatetime(), "MMMM y", locale=locale or display_locale())


SUBMIT_SETTLE = 0.25  # seconds: long enough for the browser's held-back keystrokes to reach the kernel


def submit_on_enter(fields, button) -> None:
    """Enter in any of `fields` (Text widgets) does what clicking `button` does, with the field's new value.

    ipywidgets sends Enter at once but holds back value updates while the kernel is busy with an earlier one
    (its message throttle), so Enter right after typing or pasting can reach the kernel before the last
    characters (ipywidgets pull request 4034). In a kernel the click therefore waits SUBMIT_SETTLE seconds on
    the kernel's event loop, during which the held-back update arrives and is applied; without a running loop
    (tests driving the widgets) it clicks at once."""

    def on_enter(_field):
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            button.click()
            return
        loop.call_later(SUBMIT_SETTLE, button.click)

    for field in fields:
        with warnings.catch_warnings():  # ipywidgets 8 calls on_submit deprecated but it is the Enter key event
            warnings.simplefilter("ignore", DeprecationWarning)
            field.on_submit(on_enter)


def error_html(message: str) -> str:
    """A message shown in red in a form (plain text, escaped)."""
    return f'<div class="cc-error">{html.escape(message)}</div>'


def card(label: str, value: str, note: str = "", css: str = "", data: str = "") -> str:
    """A summary card: small label, big value, a note; `data` adds attributes (already escaped)."""
    return (
        f'<div class="cc-card {css}"{" " + data if data else ""}><div class="cc-label">{html.escape(label)}</div>'
        f'<div class="cc-value">{html.escape(value)}</div><div class="cc-note">{html.escape(note)}</div></div>'
    )


def html_table(
    frame: pd.DataFrame,
    *,
    money_columns=(),
    day_columns=(),
    instant_columns=(),
    currency="USD",
    labels: dict[str, str] | None = None,
    css_class: str = "cc-table",
    locale: str | None = None,
) -> str:
    """An escaped HTML table with money right-aligned and dates formatted for the locale."""
    labels = labels or {}
    columns = list(labels) if labels else list(frame.columns)

    def cell(column, value):
        if column in money_columns:
            return f'<td class="cc-money">{html.escape(money(value, currency, locale))}</td>'
        if column in day_columns:
            return f"<td>{html.escape(day(value, locale))}</td>"
        if column in instant_columns:
            return f"<td>{instant_html(value, locale)}</td>"
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):  # 12,345 (de_DE: 12.345)
            return f'<td class="cc-number">{html.escape(format_decimal(value, locale=locale or display_locale()))}</td>'
        return f"<td>{html.escape('' if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)) else str(value))}</td>"

    head = "".join(
        f'<th class="{"cc-money" if c in money_columns else ""}">{html.escape(labels.get(c, c))}</th>' for c in columns
    )
    body = "".join("<tr>" + "".join(cell(c, row[c]) for c in columns) + "</tr>" for _, row in frame.iterrows())
    if frame.empty:
        body = f'<tr><td colspan="{len(columns)}" class="cc-empty">Nothing yet.</td></tr>'
    # focusable, so a table that scrolls sideways on a phone can be scrolled with the keyboard
    return f'<table class="{css_class}" tabindex="0"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


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
.cc-table .cc-money, .cc-table .cc-number { text-align: right; font-variant-numeric: tabular-nums; }
.cc-table .cc-empty { color: #605e5c; font-style: italic; }  /* 6.2:1 on white (WCAG AA asks 4.5:1) */
.cc-error { color: #a4262c; font-weight: 600; }
.cc-success { color: #0b6a0b; background: #dff6dd; border: 1px solid #9fd89f; border-radius: 6px; padding: 8px 12px; }
h2.cc-title { margin: 4px 0 4px; font-weight: 600; }
h3.cc-section { margin: 16px 0 4px; font-weight: 600; font-size: 16px; }
</style>
"""
