"""How the tenant buys Microsoft services (its agreement type) and its auto-recharge setting.

Both are versioned settings (the latest row holds, every earlier one stays), read here inside the caller's
transaction; the Ledger records changes (`set_agreement`, `set_auto_recharge`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from ..errors import InvalidInput
from ..versioned import latest_setting


class Agreement(str, Enum):
    """How the tenant buys Microsoft services. Only MCA forbids buying credits."""

    MOSA = "MOSA"  # Microsoft Online Subscription Agreement (direct, credit card or invoice)
    EA = "EA"  # Enterprise Agreement
    CSP = "CSP"  # Cloud Solution Provider (through a partner)
    MCA = "MCA"  # Microsoft Customer Agreement: no new credits, auto-recharge off; the remaining balance is
    # used up first, then usage is billed in arrears


@dataclass(frozen=True)
class AutoRecharge:
    """ "Add this amount" when "balance is below" the trigger."""

    enabled: bool
    amount: Decimal | None = None
    below: Decimal | None = None


def _parse_agreement(value) -> Agreement:
    """An Agreement from its name in any case; InvalidInput naming `agreement` for anything else."""
    try:
        return Agreement(value.value if isinstance(value, Agreement) else str(value).strip().upper())
    except ValueError:
        choices = ", ".join(a.value for a in Agreement)
        raise InvalidInput("agreement", f"{value!r} is not an agreement type; choose one of {choices}.") from None


def how_to_add_credits(agreement: Agreement | str, *, or_auto_recharge: bool = False) -> str:
    """What an admin does to add credits, in the words of how the tenant buys. The readiness view
    (sql/licensing_views.sql, readiness_reasons) says the same; a test holds them together. MCA tenants buy
    none ("not available to purchase"), so they are never told to."""
    agreement = _parse_agreement(agreement)
    if agreement is Agreement.CSP:
        # "Customers who purchase through CSP can't acquire Communication Credits in the Microsoft 365 admin center"
        return "Ask your CSP partner to buy Communication Credits, then record the purchase in Step 2."
    where = "Buy Communication Credits in the Microsoft 365 admin center (Billing › Purchase services)"
    if or_auto_recharge:
        where += " or turn on auto-recharge there"
    if agreement is Agreement.EA:
        where += " (an Enterprise Agreement billed in another region may not be offered them)"
    return f"{where}, then record it in Step 2."


def current_agreement(con) -> Agreement:
    """The tenant's agreement type, read inside the caller's transaction (MOSA until one is recorded)."""
    row = latest_setting(con, "agreement_change", ["agreement"])
    return Agreement(row[0]) if row else Agreement.MOSA


def current_auto_recharge(con) -> AutoRecharge:
    """The auto-recharge setting in force, read inside the caller's transaction."""
    row = latest_setting(con, "auto_recharge_change", ["enabled", "amount", "below"])
    if not row or not row[0]:
        return AutoRecharge(False)
    return AutoRecharge(True, row[1], row[2])
