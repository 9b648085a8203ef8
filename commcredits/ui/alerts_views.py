"""What the alerts strip and the Alerts page show, as HTML and frames, without widgets."""

from __future__ import annotations

import html
import re

import pandas as pd

from ..alerts.checks import CHECK_TITLES, Alert, Severity
from ..pages import page_title
from . import format as fmt

HISTORY_LABELS = {
    "attempted_at": "When",
    "channel": "Channel",
    "recipient": "To",
    "check_name": "Check",
    "kind": "Kind",
    "severity": "Severity",
    "sentence": "Message",
    "status": "Status",
    "attempts": "Attempts",
    "error": "Error",
}


def alerts_strip_html(alerts: list[Alert]) -> str:
    """One line per alert, most severe first, each with its fix and a link to the page that fixes it."""
    if not alerts:
        return '<div class="cc-alerts"><div class="cc-alerts-clear">No alerts: every check passed.</div></div>'
    rows = "".join(
        f'<div class="cc-alert cc-alert-{a.severity.name.lower()}" data-check="{html.escape(a.check)}">'
        f'<span class="cc-alert-label">{html.escape(a.severity.label)}</span>'
        f'<span>{html.escape(a.sentence)} <span class="cc-alert-fix">{html.escape(a.fix)}</span> '
        f'<a href="{html.escape(a.page)}">{html.escape(page_title(a.page))} →</a></span></div>'
        for a in alerts
    )
    label = "Alerts" if any(a.severity >= Severity.WARNING for a in alerts) else "Notes"
    return f'<div class="cc-alerts" role="region" aria-label="{label}">{rows}</div>'


def history_csv_frame(sent: pd.DataFrame) -> pd.DataFrame:
    """Every alert message for the CSV download, times in UTC."""
    return pd.DataFrame(
        {
            "When (UTC)": sent["attempted_at"].map(fmt.utc_text),
            "Channel": sent["channel"],
            "To": sent["recipient"],
            "Check": sent["check_name"].map(lambda c: CHECK_TITLES.get(c, c)),
            "Kind": sent["kind"],
            "Severity": sent["severity"],
            "Message": sent["sentence"],
            "Status": sent["status"],
            "Attempts": sent["attempts"],
            "Error": sent["error"].fillna(""),
        }
    )


def history_table_html(sent: pd.DataFrame, locale: str | None) -> str:
    """One page of the alert messages sent."""
    sent = sent.assign(
        check_name=sent["check_name"].map(lambda c: CHECK_TITLES.get(c, c)), error=sent["error"].fillna("")
    )
    return fmt.html_table(
        sent,
        labels=HISTORY_LABELS,
        instant_columns=("attempted_at",),
        css_class="cc-table cc-alert-history",
        locale=locale,
    )


def with_code(text: str) -> str:
    """Escaped text with `quoted` words as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def problems_html(by_field: dict[str, list[str]], what: str) -> str:
    """'<what>: N fields need attention.' and every message in a list."""
    n = len(by_field)
    listed = "".join(f"<li>{html.escape(m)}</li>" for messages in by_field.values() for m in messages)
    return (
        f'<div class="cc-error">{html.escape(what)}: {n} '
        f"{'field needs' if n == 1 else 'fields need'} attention.</div>"
        f'<ul class="cc-problems">{listed}</ul>'
    )


def test_message_html(results, *, saved: bool) -> str:
    """One line per channel a test message went to; `saved` says whether the form's settings are the saved ones."""
    lines = [
        f"{r.channel} to {r.recipient}: " + ("sent" if r.outcome.ok else f"not sent. {r.outcome.error}")
        for r in results
    ]
    ok = all(r.outcome.ok for r in results)
    unsaved = "" if saved else "<br>These settings are not saved yet: click Save settings to keep them."
    return (
        f'<div class="{"cc-success" if ok else "cc-error"}" role="status">'
        + "<br>".join(html.escape(line) for line in lines)
        + unsaved
        + "</div>"
    )
