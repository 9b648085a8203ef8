"""The Usage page's settle and spend sections without widgets: the cards and tables they show, as HTML."""

from __future__ import annotations

import html

import pandas as pd

from ..countries import country_names
from ..credits.settlement import SettlementReport
from . import format as fmt
from .usage_words import BLOCKED_REASON, settlement_lines, status_lines
from .usage_words import calls as calls_text


def blocked_csv_frame(calls: pd.DataFrame) -> pd.DataFrame:
    """Every blocked call of a settlement for the CSV download."""
    return pd.DataFrame(
        {
            "Call ID": calls["usage_id"],
            "Started (UTC)": calls["start_at"].map(fmt.utc_text),
            "Charge": calls["charge"].map(str),
        }
    )


def blocked_table_html(calls: pd.DataFrame, currency: str, locale: str | None) -> str:
    """One page of blocked calls."""
    return fmt.html_table(
        calls,
        labels={"usage_id": "Call ID", "start_at": "Started", "charge": "Charge"},
        money_columns=("charge",),
        instant_columns=("start_at",),
        currency=currency,
        css_class="cc-table cc-blocked",
        locale=locale,
    )


def settlement_html(
    report: SettlementReport,
    unrated: int,
    *,
    balance: str | None,
    blocked_shown: bool,
    currency: str,
    locale: str | None,
) -> str:
    """This settlement's cards, then every imported call by what became of it (all time, adding up).

    `balance` is the balance after it (None where the agreement has no prepaid balance to show)."""
    cards = "".join(
        fmt.card(
            label,
            value,
            note,
            f"cc-settle-{label.lower().replace(' ', '-')}"
            + (" cc-warning" if label == "Blocked" and report.blocked else ""),
        )
        for label, value, note in settlement_lines(report, currency, locale)
    )
    total, lines = status_lines(report.by_status, locale)
    statuses = "".join(
        fmt.card(label, value, note, f"cc-calls-{status.replace('_', '-')}") for status, label, value, note in lines
    )
    unrated_note = (
        f'<div class="cc-hint">Unrated: {calls_text(unrated, locale)} with no charge from '
        "Microsoft and no rate card price, so not even an estimate. Load your rate card "
        "(load_rate_card) for estimates.</div>"
        if unrated
        else ""
    )
    blocked = (
        f'<h3 class="cc-section">Blocked calls</h3><div class="cc-hint">Not recorded because {BLOCKED_REASON}.</div>'
        if blocked_shown
        else ""
    )
    after = "" if balance is None else f"<div>Balance now: <b>{html.escape(balance)}</b>.</div>"
    return (
        '<h4 class="cc-subsection">This settlement</h4>'
        f'<div class="cc-cards cc-this-settlement">{cards}</div>{after}'
        f'<h4 class="cc-subsection">Every imported call so far: {fmt.count(total, locale)}</h4>'
        '<div class="cc-hint">All time, each call counted once by what became of it.</div>'
        f'<div class="cc-cards cc-all-calls">{statuses}</div>{unrated_note}{blocked}'
    )


def spend_html(
    users: pd.DataFrame,
    places: pd.DataFrame,
    months: pd.DataFrame,
    by_report_dimensions: str,
    *,
    currency: str,
    locale: str | None,
) -> str:
    """Top users, top destinations and spend by month side by side; `months` needs its `label` column. Before
    any call is paid from credits: one sentence instead of six empty tables."""
    if months.empty:
        return (
            '<div class="cc-hint cc-spend-none">No call is paid from credits yet: import call logs (1) and settle '
            "them (2). Spend by user, destination, month, department, auto attendant or call queue and phone "
            "number then shows here.</div>"
        )
    names = country_names()
    places = places.assign(
        destination=[
            "Unknown" if c in (None, "??") or pd.isna(c) else f"{names.get(c, c)} ({c})"
            for c in places["destination_country"]
        ]
    )
    users = users.assign(
        user=[
            d if isinstance(d, str) and d else u
            for u, d in zip(users["user_principal_name"], users["user_display_name"])
        ]
    )

    def table(frame, first, label, css):
        return fmt.html_table(
            frame,
            labels={first: label, "calls": "Calls", "minutes": "Minutes", "amount": "Spent"},
            money_columns=("amount",),
            currency=currency,
            css_class=f"cc-table {css}",
            locale=locale,
        )

    return (
        '<div class="cc-grid">'
        f'<div><h3 class="cc-section">Top users</h3>{table(users, "user", "User", "cc-spend-users")}</div>'
        f'<div><h3 class="cc-section">Top destinations</h3>'
        f"{table(places, 'destination', 'Destination', 'cc-spend-destinations')}</div>"
        f'<div><h3 class="cc-section">By month</h3>{table(months, "label", "Month", "cc-spend-months")}</div>'
        f"{by_report_dimensions}</div>"
    )


def whole_minutes(frame: pd.DataFrame) -> None:
    """Round the `minutes` column to whole minutes, in place."""
    frame["minutes"] = frame["minutes"].astype(float).round().astype("int64")
