"""Calls that need the admin's attention, shared by the Usage and Overview pages.

A call Microsoft charged in another currency than the ledger's, a call the balance could not pay, or a call
that came without a charge (only the rate card's estimate) is never drawn from credits; the admin sees each
one here with its amount and the reason, so nothing is left unpaid in silence (docs/billing.md).
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import pandas as pd

from ..credits.ledger import Ledger
from ..usage.charges import STATUS_LABELS, attention_summary
from ..usage.lists import attention_rows
from . import format as fmt
from .long_list import LongList

SHOWN = 20
SENTENCES = {
    "other_currency": "{calls} charged in {row_currency}, not in the ledger's {currency}: {amount}, not drawn from "
    "credits. Pay them with Microsoft's invoice in {row_currency}.",
    "blocked": "{calls} the balance could not pay: {amount}. Buy credits in the Microsoft 365 admin center (or turn on auto-recharge there), record it in Step 2, then "
    "settle again.",
    "estimate": "{calls} without a charge from Microsoft yet: about {amount} (an estimate from the rate card, never "
    "drawn). Check them in the Teams admin center's PSTN usage report.",
    "re_reported": "{calls} Microsoft reported again with another charge: {amount} of difference. The first report "
    "is kept; compare them with Microsoft's invoice.",
}


def attention_sentences(summary: pd.DataFrame, currency: str, locale: str | None = None) -> list[str]:
    """One plain sentence per status and currency, with the amount ('75 calls charged in EUR ...: €47.84')."""
    sentences = []
    for row in summary.itertuples():
        calls = f"{fmt.count(row.calls, locale)} call{'s' if row.calls != 1 else ''}"
        amount = "no amount" if pd.isna(row.amount) else fmt.money(row.amount, row.currency or currency, locale)
        sentences.append(
            SENTENCES[row.status].format(calls=calls, amount=amount, currency=currency, row_currency=row.currency)
        )
    return sentences


def attention_heading_html(ledger: Ledger, *, locale: str | None = None) -> tuple[str, int]:
    """The section's title and one sentence per status (the summary an admin reads first), and how many calls
    need attention (0: none)."""
    summary = attention_summary(ledger)
    title = '<h3 class="cc-section">Calls that need your attention</h3>'
    if summary.empty:
        return (
            f'{title}<div class="cc-attention cc-attention-none">No call needs your attention: every call '
            "Microsoft charged in " + html.escape(ledger.currency) + " is settled or waiting to be.</div>"
        ), 0
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in attention_sentences(summary, ledger.currency, locale))
    return f'{title}<div class="cc-attention cc-warning"><ul>{sentences}</ul></div>', int(summary["calls"].sum())


def attention_table_html(calls: pd.DataFrame, currency: str, locale: str | None = None) -> str:
    """Calls (rows of `usage.lists.attention_rows`) with their amount and why."""
    rows = "".join(
        "<tr>"
        f"<td>{fmt.instant_html(r.start_at, locale)}</td>"
        f"<td>{html.escape(r.user_principal_name if isinstance(r.user_principal_name, str) else 'auto attendant / call queue')}</td>"
        f"<td>{html.escape(STATUS_LABELS[r.status])}</td>"
        f'<td class="cc-money">{html.escape(_amount(r, currency, locale))}</td>'
        f"<td>{html.escape(r.reason)}</td>"
        "</tr>"
        for r in calls.itertuples()
    )
    return (
        '<table class="cc-table cc-attention-calls" tabindex="0"><thead><tr><th>Started</th><th>User</th>'
        f'<th>Status</th><th class="cc-money">Amount</th><th>Why</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def attention_csv_frame(calls: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Every call needing attention for the CSV download: times in UTC, amounts as plain numbers."""
    return pd.DataFrame(
        {
            "Started (UTC)": calls["start_at"].map(fmt.utc_text),
            "User": calls["user_principal_name"].fillna("auto attendant / call queue"),
            "Status": calls["status"].map(STATUS_LABELS),
            "Amount": calls["attention_amount"].map(lambda a: "" if a is None or pd.isna(a) else str(a)),
            "Currency": [c if isinstance(c, str) and c else currency for c in calls["currency"]],
            "Estimate": calls["status"].map(lambda s: "yes" if s == "estimate" else "no"),
            "Why": calls["reason"],
            "Call ID": calls["usage_id"],
        }
    )


def attention_html(ledger: Ledger, *, locale: str | None = None, limit: int = SHOWN, more_hint: str = "") -> str:
    """The 'Calls that need your attention' section: a sentence per status, then the newest `limit` calls
    with amounts (`more_hint`, HTML, says where the rest are)."""
    heading, total = attention_heading_html(ledger, locale=locale)
    if not total:
        return heading
    calls = attention_rows(ledger)  # the summary counted them: one query less on a big ledger
    more = f" (the newest {limit} of {fmt.count(total, locale)}{more_hint})" if total > limit else ""
    return (
        f'{heading}<div class="cc-hint">Calls{more}:</div>'
        f"{attention_table_html(calls.page(0, limit), ledger.currency, locale)}"
    )


class AttentionList:
    """The section on the Usage page: the sentences, then every call, a page at a time, and a CSV of all."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger, self.locale = ledger, locale
        self.heading = widgets.HTML()
        self.calls = LongList(
            attention_rows(ledger),
            lambda rows: attention_table_html(rows, ledger.currency, locale),
            filename="calls-needing-attention.csv",
            noun="calls",
            export=lambda rows: attention_csv_frame(rows, ledger.currency),
            css="cc-attention-list",
            locale=locale,
        )
        self.widget = widgets.VBox([self.heading, self.calls.widget])
        self.widget.add_class("cc-attention-section")

    def show(self) -> None:
        self.heading.value, needing = attention_heading_html(self.ledger, locale=self.locale)
        self.calls.widget.layout.display = None if needing else "none"
        if needing:
            self.calls.show()


def _amount(row, currency: str, locale: str | None) -> str:
    if row.attention_amount is None or pd.isna(row.attention_amount):
        return "—"
    if row.status == "estimate":
        return f"{fmt.money(row.attention_amount, currency, locale)} (estimate)"
    return fmt.money(row.attention_amount, row.currency or currency, locale)
