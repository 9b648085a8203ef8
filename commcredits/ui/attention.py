"""Calls that need the admin's attention, shared by the Usage and Overview pages.

A call Microsoft charged in another currency than the ledger's, a call the balance could not pay, or a call
that came without a charge (only the rate card's estimate) is never drawn from credits; the admin sees each
one here with its amount and the reason, so nothing is left unpaid in silence (docs/billing.md).
"""

from __future__ import annotations

import html

import pandas as pd

from ..credits.ledger import Ledger
from ..usage.charges import STATUS_LABELS, attention_summary, calls_needing_attention
from . import format as fmt

SHOWN = 20
SENTENCES = {
    "other_currency": "{calls} charged in {row_currency}, not in the ledger's {currency}: {amount}, not drawn from "
                      "credits. Pay them with Microsoft's invoice in {row_currency}.",
    "blocked": "{calls} the balance could not pay: {amount}. Add funds or turn on auto-recharge in Step 2, then "
               "settle again.",
    "estimate": "{calls} without a charge from Microsoft yet: about {amount} (an estimate from the rate card, never "
                "drawn). Check them in the Teams admin center's PSTN usage report.",
}


def attention_sentences(summary: pd.DataFrame, currency: str, locale: str | None = None) -> list[str]:
    """One plain sentence per status and currency, with the amount ('75 calls charged in EUR ...: €47.84')."""
    sentences = []
    for row in summary.itertuples():
        calls = f"{row.calls} call{'s' if row.calls != 1 else ''}"
        amount = "no amount" if pd.isna(row.amount) else fmt.money(row.amount, row.currency or currency, locale)
        sentences.append(SENTENCES[row.status].format(calls=calls, amount=amount, currency=currency,
                                                      row_currency=row.currency))
    return sentences


def attention_html(ledger: Ledger, *, locale: str | None = None, limit: int = SHOWN, more_hint: str = "") -> str:
    """The 'Calls that need your attention' section: a sentence per status, then the newest `limit` calls
    with amounts (`more_hint` says where the rest are)."""
    summary = attention_summary(ledger)
    title = '<h3 class="cc-section">Calls that need your attention</h3>'
    if summary.empty:
        return (f'{title}<div class="cc-attention cc-attention-none">No call needs your attention: every call '
                "Microsoft charged in " + html.escape(ledger.currency) + " is settled or waiting to be.</div>")
    sentences = "".join(f"<li>{html.escape(s)}</li>" for s in attention_sentences(summary, ledger.currency, locale))
    calls = calls_needing_attention(ledger)
    shown = calls.head(limit)
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(fmt.instant(r.start_at, locale))}</td>"
        f"<td>{html.escape(r.user_principal_name if isinstance(r.user_principal_name, str) else 'auto attendant / call queue')}</td>"
        f"<td>{html.escape(STATUS_LABELS[r.status])}</td>"
        f'<td class="cc-money">{html.escape(_amount(r, ledger.currency, locale))}</td>'
        f"<td>{html.escape(r.reason)}</td>"
        "</tr>"
        for r in shown.itertuples()
    )
    more = f" (the newest {limit} of {len(calls)}{more_hint})" if len(calls) > limit else ""
    table = ('<table class="cc-table cc-attention-calls"><thead><tr><th>Started (UTC)</th><th>User</th>'
             f'<th>Status</th><th class="cc-money">Amount</th><th>Why</th></tr></thead><tbody>{rows}</tbody></table>')
    return (f'{title}<div class="cc-attention cc-warning"><ul>{sentences}</ul></div>'
            f'<div class="cc-hint">Calls{more}:</div>{table}')


def _amount(row, currency: str, locale: str | None) -> str:
    if row.attention_amount is None or pd.isna(row.attention_amount):
        return "—"
    if row.status == "estimate":
        return f"{fmt.money(row.attention_amount, currency, locale)} (estimate)"
    return fmt.money(row.attention_amount, row.currency or currency, locale)
