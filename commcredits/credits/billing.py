"""Billing details as on Microsoft's invoices (optional, for the admin's records): validated as a list of problems
a form can show at once, stored append-only.

Details can change at any time; a change applies to later orders and never to past invoices (the
`invoice_billing` view joins each invoice to the details in force when its order was recorded).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace

from ..countries import ISO_COUNTRIES
from ..errors import InvalidDetails, Problem
from ..safety import looks_like_card_number
from ..store import store_of
from ..versioned import append_setting, latest_setting
from .ledger import Ledger

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PAYMENT_METHODS = ("invoice", "card")
CARD_BRANDS = ("", "Visa", "Mastercard", "American Express")


@dataclass(frozen=True)
class BillingDetails:
    company: str = ""
    address: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""
    tax_id: str = ""
    po_number: str = ""
    invoice_email: str = ""
    payment_method: str = "invoice"
    card_brand: str = ""
    card_last4: str = ""

    def cleaned(self) -> BillingDetails:
        """Trimmed text, upper-case country."""
        values = {f.name: str(getattr(self, f.name) or "").strip() for f in fields(self)}
        values["country"] = values["country"].upper()
        return BillingDetails(**values)

    def is_blank(self) -> bool:
        """Nothing typed (the payment method has a default, so it does not count)."""
        return not any(str(getattr(self, f.name) or "").strip() for f in fields(self) if f.name != "payment_method")


def billing_problems(details: BillingDetails) -> list[Problem]:
    """Everything wrong with `details`, field by field (an empty list means they can be saved)."""
    d = details.cleaned()
    problems = []
    for name, label in (
        ("company", "Company name"),
        ("address", "Address"),
        ("city", "City"),
        ("postal_code", "Postal code"),
    ):
        if not getattr(d, name):
            problems.append(Problem(name, f"{label} is required on invoices."))
    if d.country not in ISO_COUNTRIES:
        problems.append(Problem("country", "Choose the country of the billing address (ISO code such as US)."))
    if not EMAIL.match(d.invoice_email):
        problems.append(Problem("invoice_email", "Enter the e-mail address invoices are sent to, like ap@contoso.com."))
    if d.payment_method not in PAYMENT_METHODS:
        problems.append(Problem("payment_method", "Choose invoice or card."))
    digits = re.sub(r"\D", "", d.card_last4)
    if d.payment_method == "card":
        if len(digits) > 4:
            problems.append(
                Problem(
                    "card_last4", "Enter only the last four digits of the card; a full card number is never stored."
                )
            )
        elif len(digits) != 4:
            problems.append(Problem("card_last4", "Enter the last four digits of the card."))
        if d.card_brand not in CARD_BRANDS[1:]:
            problems.append(Problem("card_brand", "Choose the card brand."))
    elif digits:
        problems.append(Problem("card_last4", "Leave the card digits empty when paying by invoice."))
    for name in ("tax_id", "po_number"):
        if len(getattr(d, name)) > 40:
            problems.append(Problem(name, "Keep it to 40 characters."))
    for f in fields(d):  # PCI DSS: a full card number is never stored, whatever field it was typed into
        if f.name != "card_last4" and looks_like_card_number(getattr(d, f.name)):
            problems.append(
                Problem(
                    f.name,
                    "This looks like a payment card number. Never enter card numbers here; "
                    "only the last four digits go in the card field.",
                )
            )
    return problems


def current_billing(ledger: Ledger) -> BillingDetails | None:
    """The details that apply to the next order, or None if none were saved yet."""
    store = store_of(ledger)
    with store.reading() as con:
        row = latest_setting(con, "billing_change", [f.name for f in fields(BillingDetails)])
    return BillingDetails(*row) if row else None


def save_billing(ledger: Ledger, details: BillingDetails) -> int:
    """Record `details` as the new billing details (no-op if unchanged); return their version.

    Raises InvalidDetails (a ValueError) listing the problems when they are not valid (nothing is saved)."""
    store = store_of(ledger)
    clean = details.cleaned()
    problems = billing_problems(clean)
    if problems:
        raise InvalidDetails(problems)
    if clean.payment_method == "invoice":
        clean = replace(clean, card_brand="", card_last4="")
    with store.transaction() as con:
        return append_setting(con, "billing_change", asdict(clean), unless_unchanged=True)
