"""Step 2's review and outcome in words: the record to check against Microsoft's invoice, and what was kept."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from ..credits.funding import PurchaseReview
from . import format as fmt


def review_html(review: PurchaseReview, locale: str | None) -> str:
    """The record as it will be kept, with the review's warnings, to check against Microsoft's order or invoice."""
    m = lambda amount: html.escape(fmt.money(amount, review.currency, locale))  # noqa: E731
    rows = []
    if review.amount is not None:
        bought = fmt.day(review.purchased_at or datetime.now(UTC), locale)
        rows += [
            ("Microsoft number", html.escape(review.microsoft_number)),
            ("Amount", m(review.amount)),
            ("Purchased", html.escape(bought)),
            ("Expires", f"about {html.escape(fmt.day(review.expires_at, locale))}"),
        ]
    else:
        rows.append(("Purchase", "none: settings only"))
    auto = review.auto_recharge
    rows.append(
        (
            "Auto-recharge",
            f"recharge {m(auto.amount)} when the balance falls below {m(auto.below)}" if auto.enabled else "off",
        )
    )
    b = review.billing
    if b is not None and not b.is_blank():
        rows.append(
            ("Billing details", html.escape(f"{b.company}, {b.address}, {b.postal_code} {b.city}, {b.country}"))
        )
        if b.po_number:
            rows.append(("PO number", html.escape(b.po_number)))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    warnings = "".join(f'<div class="cc-review-warning">{html.escape(w)}</div>' for w in review.warnings)
    return (
        f'<h3 class="cc-section">Check this record against Microsoft\'s order or invoice</h3>'
        f'<table class="cc-table">{body}</table>{warnings}<div class="cc-hint">Recording keeps it in this '
        "workbook only; it does not buy or change anything in Microsoft 365.</div>"
    )


def recorded_message(recorded, currency: str, locale: str | None) -> str:
    """What a record kept, in one sentence (plain text)."""
    lot = recorded.lot
    if lot is None:
        return "Settings saved (here only; Microsoft 365 is unchanged)."
    return (
        f"Purchase recorded: {fmt.money(lot.amount, currency, locale)}, Microsoft number "
        f"{lot.order_id} (kept here as {recorded.invoice_id}), expires {fmt.day(lot.expires_at, locale)}. "
        "This is the workbook's record; Microsoft's balance is in the admin center."
    )


def balance_html(balance: str) -> str:
    """The recorded balance line above the form (`balance` already formatted)."""
    return (
        f'<div>Recorded balance: <b class="cc-current-balance">{html.escape(balance)}</b> (purchases recorded '
        "here, less the calls settled). Each purchase expires 12 months after it is bought; the oldest is "
        "spent first.</div>"
    )
