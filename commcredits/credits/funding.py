"""Step 2: record a Communication Credits purchase made in Microsoft 365 (amount, Microsoft's order or invoice
number, date, auto-recharge as set in the admin center), after a review.

Nothing here buys anything: Microsoft sells Communication Credits only in the Microsoft 365 admin center
(Billing > Purchase services) or, for CSP tenants, through the partner, and there is no API to buy them. The
review is pure validation that returns every problem at once; recording is idempotent on Microsoft's number, so
the same purchase recorded twice (a double click, a second tab) is kept once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

from ..errors import InvalidAmount, Problem
from ..money import format_money, parse_typed_amount
from ..safety import looks_like_card_number
from .billing import BillingDetails, billing_problems, current_billing, save_billing
from .burn import daily_burn
from .ledger import SQL as LEDGER_SQL
from .ledger import Agreement, AutoRecharge, Ledger, Lot, expiry_instant, invoice_number

NUMBER_MAX_LENGTH = 64
MCA_NO_PURCHASE = (
    "Microsoft Customer Agreement (MCA): Communication Credits are not available to purchase; "
    "calls beyond your plans are billed after use. There is nothing to record here."
)


@dataclass(frozen=True)
class PurchaseRequest:
    """What an admin typed on Step 2 (text as typed; amounts may be empty)."""

    amount: str
    billing: BillingDetails = field(default_factory=BillingDetails)
    auto_recharge: bool = False
    recharge_amount: str = ""
    recharge_below: str = ""
    confirmed: bool = False  # "Yes, I mean these amounts": an unusual amount or frequent recharges go ahead
    microsoft_number: str = ""  # Microsoft's (or the partner's) order or invoice number
    purchased_on: date | None = None  # None: today


@dataclass(frozen=True)
class PurchaseReview:
    """A checked purchase record, ready to keep. `amount` is None when only settings change."""

    microsoft_number: str | None
    amount: Decimal | None
    billing: BillingDetails | None  # None: no billing details typed, none kept
    auto_recharge: AutoRecharge
    currency: str
    purchased_at: datetime | None  # None: the moment it is recorded (today)
    expires_at: datetime | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedPurchase:
    lot: Lot | None
    invoice_id: str | None
    billing_version: int | None
    auto_recharge: AutoRecharge


def review_purchase(
    ledger: Ledger, request: PurchaseRequest, *, locale: str = "en_US", now: datetime | None = None
) -> tuple[PurchaseReview | None, list[Problem]]:
    """Check a purchase record; return (review, []) or (None, problems), every problem at once."""
    now = now or datetime.now(UTC)
    billing, problems = _billing(ledger, request.billing)
    amount, number, when = _purchase(ledger, request, locale, now, problems)
    auto = _auto_recharge(ledger, request, locale, problems)
    problems += guard_rail_problems(ledger, amount, auto, request.confirmed, locale)
    settings_changed = auto != ledger.auto_recharge or (billing is not None and billing != current_billing(ledger))
    if amount is None and number is None and not problems and not settings_changed:
        problems.append(
            Problem(
                "amount",
                "Enter the amount and Microsoft's order or invoice number of the purchase, "
                "or change a setting; there is nothing to record.",
            )
        )
    if problems:
        return None, problems
    expires = expiry_instant(when or now) if amount is not None else None
    return PurchaseReview(
        number,
        amount,
        billing,
        auto,
        ledger.currency,
        when,
        expires,
        tuple(guard_rail_warnings(auto, ledger.currency, locale)),
    ), []


def _billing(ledger: Ledger, typed: BillingDetails) -> tuple[BillingDetails | None, list[Problem]]:
    """Billing details are optional (Microsoft keeps them): all blank keeps none; anything typed is checked."""
    clean = typed.cleaned()
    if clean.is_blank() and current_billing(ledger) is None:
        return None, []
    return clean, billing_problems(clean)


def _purchase(ledger, request, locale, now, problems) -> tuple[Decimal | None, str | None, datetime | None]:
    """The amount, Microsoft's number and the purchase instant (None: now), adding what is wrong to `problems`."""
    typed_amount, number = request.amount.strip(), request.microsoft_number.strip()
    if not (typed_amount or number):
        return None, None, None
    if ledger.agreement is Agreement.MCA:
        problems.append(Problem("amount", MCA_NO_PURCHASE))
        return None, None, None
    amount = None
    if not typed_amount:
        problems.append(Problem("amount", "Amount: enter the amount of the purchase, as on Microsoft's invoice."))
    else:
        try:
            amount = parse_typed_amount(typed_amount, ledger.currency, locale, "amount")
        except InvalidAmount as error:
            problems.append(Problem("amount", error.message))
    number_problem = _number_problem(ledger, number, locale)
    if number_problem:
        problems.append(Problem("microsoft_number", number_problem))
    when, date_problem = _purchase_instant(ledger, request.purchased_on, now)
    if date_problem:
        problems.append(Problem("purchased_on", date_problem))
    return amount, number or None, when


def _number_problem(ledger: Ledger, number: str, locale: str) -> str | None:
    if not number:
        return "Order or invoice number: enter the number Microsoft (or your partner) gave the purchase."
    if len(number) > NUMBER_MAX_LENGTH:
        return f"Order or invoice number: keep it to {NUMBER_MAX_LENGTH} characters."
    if looks_like_card_number(number):
        return "Order or invoice number: this looks like a payment card number; never enter card numbers here."
    rows = ledger.store.query(
        "SELECT l.amount, l.purchased_at, i.invoice_id FROM lot l LEFT JOIN invoice i USING (lot_id) WHERE l.order_id = $1",
        [number],
    )
    if rows:
        recorded, at, invoice = rows[0]
        return (
            f"Order or invoice number: {number} is already recorded ({invoice}, "
            f"{format_money(recorded, ledger.currency, locale)} on {at:%Y-%m-%d}); each purchase is recorded once."
        )
    return None


def _purchase_instant(ledger: Ledger, day: date | None, now: datetime) -> tuple[datetime | None, str | None]:
    """Today is recorded at the moment of recording; an earlier day at its start (UTC), so the lot never outlives
    Microsoft's. Within the last 12 months, and not before what the ledger already holds (it never rewrites)."""
    today = now.astimezone(UTC).date()
    if day is None or day == today:
        return None, None
    if day > today:
        return None, "Purchase date: it cannot be in the future."
    when = datetime.combine(day, time(0), UTC)
    if expiry_instant(when) <= now:
        return None, (
            f"Purchase date: a purchase from {day:%Y-%m-%d} has already expired (credits last 12 months); "
            "there is nothing left to record."
        )
    (last,) = ledger.store.query(LEDGER_SQL["last_entry_time"])[0]
    if last is not None and when < last:
        return None, (
            f"Purchase date: the ledger already holds entries up to {last:%Y-%m-%d %H:%M} UTC and never "
            "rewrites history, so it cannot yet take a purchase dated before that. Dating it later would move its "
            "expiry: on a new ledger, record earlier purchases before importing call logs."
        )
    return when, None


def _auto_recharge(ledger: Ledger, request: PurchaseRequest, locale: str, problems: list[Problem]) -> AutoRecharge:
    if not request.auto_recharge:
        return AutoRecharge(False)
    if ledger.agreement is Agreement.MCA:
        problems.append(
            Problem(
                "auto_recharge", "MCA tenants must keep auto-recharge off in the admin center; turn it off there too."
            )
        )
        return AutoRecharge(False)
    values = {}
    for name, text in (("recharge_amount", request.recharge_amount), ("recharge_below", request.recharge_below)):
        try:
            values[name] = parse_typed_amount(text, ledger.currency, locale, name)
        except InvalidAmount as error:
            problems.append(Problem(name, error.message))
    if len(values) < 2:
        return AutoRecharge(False)
    return AutoRecharge(True, values["recharge_amount"], values["recharge_below"])


# Guard rails. Microsoft states no minimum purchase and no limit on the trigger ("What are Communications
# Credits?", "Set up Communication Credits for your organization"; docs/billing.md): the workbook refuses neither.
SUGGESTED_FIRST_AMOUNT = Decimal("50")  # only a placeholder hint: an older Microsoft page suggested it
TRIGGER_WARNING_RATIO = 10  # a trigger above 10x the recharge amount is warned about, never refused
RECHARGES_PER_DAY_LIMIT = 3  # more than this at the recent burn needs confirmation
LARGE_AMOUNT_FLOOR = Decimal("5000")  # below this, an amount never needs confirmation


def guard_rail_warnings(auto: AutoRecharge, currency: str, locale: str = "en_US") -> list[str]:
    """What looks unusual but is allowed: a trigger far above the recharge amount."""
    if auto.enabled and auto.below > auto.amount * TRIGGER_WARNING_RATIO:
        ceiling = format_money(auto.amount * TRIGGER_WARNING_RATIO, currency, locale)
        return [
            f"The trigger is more than {TRIGGER_WARNING_RATIO} times the recharge amount (above {ceiling}): "
            "Microsoft may recharge again after almost every call, each time with an invoice. Check it matches "
            "the admin center."
        ]
    return []


def guard_rail_problems(
    ledger: Ledger, amount: Decimal | None, auto: AutoRecharge, confirmed: bool, locale: str = "en_US"
) -> list[Problem]:
    """Confirmation for an amount above a year of calls, or recharges more than RECHARGES_PER_DAY_LIMIT times a
    day at the recent burn (a typo of a few zeros is the usual cause)."""
    if confirmed:
        return []
    show = lambda value: format_money(value, ledger.currency, locale)  # noqa: E731
    problems, burn = [], daily_burn(ledger)
    yearly = burn * 365
    if amount is not None and amount > max(yearly, LARGE_AMOUNT_FLOOR):
        problems.append(
            Problem(
                "confirm",
                f"{show(amount)} is more than a year of calls at your recent spend "
                f"({show(yearly)} a year). Tick the box if you mean it.",
            )
        )
    if auto.enabled and burn > 0 and burn / auto.amount > RECHARGES_PER_DAY_LIMIT:
        per_day = (burn / auto.amount).quantize(Decimal(1))
        problems.append(
            Problem(
                "confirm",
                f"Recharging {show(auto.amount)} would happen about {per_day} times a day "
                f"at your recent spend ({show(burn)} a day), each with an invoice. "
                "Check the admin center, or tick the box if you mean it.",
            )
        )
    return problems


def record_purchase(ledger: Ledger, review: PurchaseReview) -> RecordedPurchase:
    """Keep the billing details, the auto-recharge setting and the purchase (each step idempotent, so recording
    the same review twice changes nothing the second time). Buys nothing: the purchase was made in Microsoft 365."""
    version = save_billing(ledger, review.billing) if review.billing is not None else None
    if review.auto_recharge != ledger.auto_recharge:
        if review.auto_recharge.enabled:
            ledger.set_auto_recharge(amount=review.auto_recharge.amount, below=review.auto_recharge.below)
        else:
            ledger.disable_auto_recharge()
    lot = None
    if review.amount is not None:
        lot = ledger.add_funds(review.amount, at=review.purchased_at, order_id=review.microsoft_number)
    return RecordedPurchase(lot, invoice_number(lot.lot_id) if lot else None, version, review.auto_recharge)


# ---- deprecated names (one release): the form used to look like a shop ----


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"commcredits: {old} is deprecated; use {new} (it records a purchase made in Microsoft 365).",
        DeprecationWarning,
        stacklevel=3,
    )


def review_order(
    ledger: Ledger, request: PurchaseRequest, *, order_id: str, locale: str = "en_US", now: datetime | None = None
) -> tuple[PurchaseReview | None, list[Problem]]:
    """Deprecated: `review_purchase`; `order_id` stands in for Microsoft's number when the request has none."""
    _deprecated("review_order", "review_purchase")
    if request.amount.strip() and not request.microsoft_number.strip():
        request = replace(request, microsoft_number=order_id)
    return review_purchase(ledger, request, locale=locale, now=now)


def place_order(ledger: Ledger, review: PurchaseReview) -> RecordedPurchase:
    """Deprecated: `record_purchase`."""
    _deprecated("place_order", "record_purchase")
    return record_purchase(ledger, review)


OrderRequest, OrderReview, PlacedOrder = PurchaseRequest, PurchaseReview, RecordedPurchase  # deprecated names
