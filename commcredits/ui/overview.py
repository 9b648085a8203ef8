"""The Overview page: balance, auto-recharge, open lots with expiry dates, recent entries."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import ipywidgets as widgets

from ..ledger import Agreement, Ledger
from . import format as fmt

AGREEMENT_NAMES = {
    Agreement.MOSA: "Microsoft Online Subscription Agreement",
    Agreement.EA: "Enterprise Agreement",
    Agreement.CSP: "Cloud Solution Provider",
    Agreement.MCA: "Microsoft Customer Agreement",
}
LOT_SOURCES = {"order": "Order", "auto_recharge": "Auto-recharge"}
ENTRY_KINDS = {"purchase": "Purchase", "recharge": "Auto-recharge", "spend": "Call charges", "expiry": "Expired"}


def _card(label: str, value: str, note: str = "", css: str = "", data: str = "") -> str:
    return (
        f'<div class="cc-card {css}" {data}><div class="cc-label">{html.escape(label)}</div>'
        f'<div class="cc-value">{html.escape(value)}</div><div class="cc-note">{html.escape(note)}</div></div>'
    )


def overview_html(ledger: Ledger, *, now: datetime | None = None, locale: str | None = None) -> str:
    """The overview as one HTML fragment (balance, settings, lots, recent entries)."""
    now = now or datetime.now(timezone.utc)
    currency = ledger.currency
    balance = ledger.balance(now)
    auto = ledger.auto_recharge
    agreement = ledger.agreement
    if agreement is Agreement.MCA:
        auto_text, auto_note = "Off", "Microsoft Customer Agreement: usage is billed in arrears."
    elif auto.enabled:
        auto_text = "On"
        auto_note = f"Add {fmt.money(auto.amount, currency, locale)} when the balance is below {fmt.money(auto.below, currency, locale)}"
    else:
        auto_text, auto_note = "Off", "Calls stop when the balance reaches zero."
    lots = ledger.lots()
    open_lots = lots[(~lots["expired"]) & (lots["remaining"] > 0)] if len(lots) else lots
    if len(open_lots):
        first = open_lots.sort_values("expires_at").iloc[0]
        expiry_value = fmt.money(first["remaining"], currency, locale)
        expiry_note = f"expires {fmt.day(first['expires_at'], locale)} (lot {first['lot_id']})"
    else:
        expiry_value, expiry_note = "—", "no open lots"
    low = balance <= 0 or (auto.enabled is False and agreement is not Agreement.MCA and balance < 50)
    cards = "".join(
        [
            _card("Balance", fmt.money(balance, currency, locale), f"as of {fmt.instant(now, locale)} UTC",
                  "cc-balance cc-warning" if low else "cc-balance", f'data-amount="{balance}" data-currency="{currency}"'),
            _card("Auto-recharge", auto_text, auto_note, "cc-auto"),
            _card("Next expiry", expiry_value, expiry_note, "cc-next-expiry"),
            _card("Agreement", agreement.value, AGREEMENT_NAMES[agreement], "cc-agreement"),
        ]
    )
    shown_lots = open_lots.sort_values("expires_at").copy()
    shown_lots["source"] = shown_lots["source"].map(LOT_SOURCES).fillna(shown_lots["source"])
    lots_table = fmt.html_table(
        shown_lots,
        labels={"lot_id": "Lot", "purchased_at": "Bought", "expires_at": "Expires", "source": "How",
                "amount": "Amount", "remaining": "Remaining"},
        money_columns=("amount", "remaining"), day_columns=("purchased_at", "expires_at"), currency=currency,
        css_class="cc-table cc-lots", locale=locale,
    )
    recent = ledger.entries().tail(15).iloc[::-1].copy()
    recent["kind"] = recent["kind"].map(ENTRY_KINDS).fillna(recent["kind"])
    entries_table = fmt.html_table(
        recent,
        labels={"occurred_at": "When (UTC)", "kind": "What", "idempotency_key": "Reference", "amount": "Change",
                "balance_after": "Balance after"},
        money_columns=("amount", "balance_after"), instant_columns=("occurred_at",), currency=currency,
        css_class="cc-table cc-entries", locale=locale,
    )
    return (
        f'{fmt.STYLE}<div class="cc-page">'
        f'<div class="cc-cards">{cards}</div>'
        f'<h3 class="cc-section">Open lots (oldest expires first; spending draws from it first)</h3>{lots_table}'
        f'<h3 class="cc-section">Recent ledger entries</h3>{entries_table}</div>'
    )


def build_overview(ledger: Ledger, *, locale: str | None = None) -> widgets.VBox:
    """The Overview page as a widget with a Refresh button."""
    body = widgets.HTML(overview_html(ledger, locale=locale))
    refresh = widgets.Button(description="Refresh", icon="refresh", tooltip="Read the ledger again")

    def _refresh(_):
        body.value = overview_html(ledger, locale=locale)

    refresh.on_click(_refresh)
    return widgets.VBox([refresh, body])
