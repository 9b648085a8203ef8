"""Step 2, fund the organization: review an order (amount, billing details, auto-recharge), then place it.

The review is pure validation that returns every problem at once; placing is idempotent on the review's
order id, so a double-clicked "Place order" buys once.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from .burn import daily_burn
from .billing import BillingDetails, Problem, billing_problems, current_billing, save_billing
from ..errors import InvalidAmount
from .ledger import Agreement, AutoRecharge, Ledger, Lot, expiry_instant, invoice_number
from ..money import format_money, parse_typed_amount


@dataclass(frozen=True)
class OrderRequest:
    """What an admin typed on the funding form (text as typed; amounts may be empty)."""

    amount: str
    billing: BillingDetails
    auto_recharge: bool
    recharge_amount: str = ""
    recharge_below: str = ""
    confirmed: bool = False  # "Yes, I mean these amounts": an unusual amount or frequent recharges go ahead


@dataclass(frozen=True)
class OrderReview:
    """A validated order, ready to place. `amount` is None when only settings change."""

    order_id: str
    amount: Decimal | None
    billing: BillingDetails
    auto_recharge: AutoRecharge
    currency: str
    expires_at: datetime | None


@dataclass(frozen=True)
class PlacedOrder:
    lot: Lot | None
    invoice_id: str | None
    billing_version: int
    auto_recharge: AutoRecharge


def new_order_id() -> str:
    """A fresh order id; one per review, so replays of the same review never buy twice."""
    return f"ORDER-{uuid.uuid4().hex[:12].upper()}"


def review_order(ledger: Ledger, request: OrderRequest, *, order_id: str, locale: str = "en_US",
                 now: datetime | None = None) -> tuple[OrderReview | None, list[Problem]]:
    """Check an order request; return (review, []) or (None, problems)."""
    problems = list(billing_problems(request.billing))
    mca = ledger.agreement is Agreement.MCA
    amount = None
    if request.amount.strip():
        if mca:
            problems.append(Problem("amount", "MCA tenants buy no Communication Credits; usage is billed in arrears."))
        else:
            try:
                amount = parse_typed_amount(request.amount, ledger.currency, locale, "amount")
            except InvalidAmount as error:
                problems.append(Problem("amount", error.message))
    auto = AutoRecharge(False)
    if request.auto_recharge:
        if mca:
            problems.append(Problem("auto_recharge", "MCA tenants must keep auto-recharge off."))
        else:
            values = {}
            for field, text in (("recharge_amount", request.recharge_amount), ("recharge_below", request.recharge_below)):
                try:
                    values[field] = parse_typed_amount(text, ledger.currency, locale, field)
                except InvalidAmount as error:
                    problems.append(Problem(field, error.message))
            if len(values) == 2:
                auto = AutoRecharge(True, values["recharge_amount"], values["recharge_below"])
    problems += guard_rail_problems(ledger, amount, auto, request.confirmed, locale)
    if amount is None and not problems and auto == ledger.auto_recharge and request.billing.cleaned() == current_billing(ledger.store):
        problems.append(Problem("amount", "Enter an amount to add, or change a setting; there is nothing to order."))
    if problems:
        return None, problems
    when = now or datetime.now(timezone.utc)
    return OrderReview(order_id, amount, request.billing.cleaned(), auto, ledger.currency,
                       expiry_instant(when) if amount is not None else None), []


# Microsoft's "What are Communications Credits?" names a minimum funding amount of 50 USD (issue 8).
# Other currencies: COMMCREDITS_MINIMUM_ORDER="EUR=50,GBP=40" (no minimum unless configured).
DEFAULT_MINIMUM_ORDER = {"USD": Decimal("50")}
TRIGGER_CEILING_RATIO = 10  # "when balance is below" at most 10x "add this amount"
RECHARGES_PER_DAY_LIMIT = 3  # more than this at the recent burn needs confirmation


def minimum_order(currency: str) -> Decimal | None:
    """The smallest manual order or auto-recharge amount in `currency`, or None when none is known."""
    table = dict(DEFAULT_MINIMUM_ORDER)
    for part in os.environ.get("COMMCREDITS_MINIMUM_ORDER", "").split(","):
        code, _, value = part.partition("=")
        try:
            table[code.strip().upper()] = Decimal(value.strip())
        except ArithmeticError:
            continue  # a malformed setting is ignored, not fatal for the form
    return table.get(currency.upper())


def guard_rail_problems(ledger: Ledger, amount: Decimal | None, auto: AutoRecharge, confirmed: bool,
                        locale: str = "en_US") -> list[Problem]:
    """Minimum order, a trigger within reach of the recharge amount, and confirmation for an amount above a
    year of calls or recharges more than RECHARGES_PER_DAY_LIMIT times a day at the recent burn."""
    currency, problems = ledger.currency, []
    minimum = minimum_order(currency)
    show = lambda value: format_money(value, currency, locale)  # noqa: E731
    if minimum is not None:
        if amount is not None and amount < minimum:
            problems.append(Problem("amount", f"Amount: the minimum order is {show(minimum)}; enter at least that."))
        if auto.enabled and auto.amount < minimum:
            problems.append(Problem("recharge_amount", f"Add this amount: the minimum is {show(minimum)}, the same "
                                                       "as a manual order."))
    if auto.enabled and auto.below > auto.amount * TRIGGER_CEILING_RATIO:
        problems.append(Problem("recharge_below", f"When balance is below: at most {TRIGGER_CEILING_RATIO} times "
                                                  f"the amount added ({show(auto.amount * TRIGGER_CEILING_RATIO)}); a "
                                                  "higher trigger recharges again after almost every call."))
    if problems or confirmed:
        return problems
    burn = daily_burn(ledger)  # the same recent burn as the runway and the alerts
    yearly = burn * 365
    if amount is not None and amount > max(yearly, (minimum or Decimal(50)) * 100):
        problems.append(Problem("confirm", f"{show(amount)} is more than a year of calls at your recent spend "
                                           f"({show(yearly)} a year). Tick the box if you mean it."))
    if auto.enabled and burn > 0 and burn / auto.amount > RECHARGES_PER_DAY_LIMIT:
        per_day = (burn / auto.amount).quantize(Decimal(1))
        problems.append(Problem("confirm", f"Adding {show(auto.amount)} would recharge about {per_day} times a day "
                                           f"at your recent spend ({show(burn)} a day), each with an invoice. "
                                           "Add more each time, or tick the box if you mean it."))
    return problems


def place_order(ledger: Ledger, review: OrderReview) -> PlacedOrder:
    """Save billing details, apply the auto-recharge setting and buy the credits (each step idempotent, so
    placing the same review twice changes nothing the second time)."""
    version = save_billing(ledger.store, review.billing)
    if review.auto_recharge != ledger.auto_recharge:
        if review.auto_recharge.enabled:
            ledger.set_auto_recharge(amount=review.auto_recharge.amount, below=review.auto_recharge.below)
        else:
            ledger.disable_auto_recharge()
    lot = None
    if review.amount is not None:
        lot = ledger.add_funds(review.amount, at=None, order_id=review.order_id)
    return PlacedOrder(lot, invoice_number(lot.lot_id) if lot else None, version, review.auto_recharge)
