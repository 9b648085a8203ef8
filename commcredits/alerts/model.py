"""What an alert is and what the checks read: severity, the alert itself, the admin's thresholds, the facts
about a tenant, and the dashboard pages alerts point to. Plain data only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from ..credits.agreement import how_to_add_credits
from ..money import format_money

FUNDING_PAGE = "02_funding.ipynb"
LICENSES_PAGE = "01_licenses.ipynb"
CREDIT_LICENSES_PAGE = "03_credit_licenses.ipynb"
USAGE_PAGE = "04_usage.ipynb"
# Microsoft 365 admin center path to the setting (from "Turn off Communication Credits auto recharge for MCA customers")
ADMIN_CENTER_AUTO_RECHARGE = (
    "Microsoft 365 admin center > Billing > Your products > Communication Credits > Edit auto recharge settings"
)


# what each check is called in messages and on the dashboard
CHECK_TITLES = {
    "runway": "Runway",
    "low_balance": "Low balance",
    "expiring_funds": "Expiring funds",
    "auto_recharge.mca": "Auto-recharge on an MCA tenant",
    "auto_recharge.runaway": "Runaway recharges",
    "auto_recharge.budget": "Monthly recharge budget",
    "auto_recharge.trigger": "Auto-recharge trigger",
    "auto_recharge.amount": "Auto-recharge amount",
    "readiness": "Who cannot dial out",
    "toll_free": "Toll-free numbers",
    "freshness.import": "Call log imports",
    "freshness.quarantine": "Quarantined rows",
    "freshness.blocked": "Blocked calls",
    "test": "Test message",
}


class Severity(IntEnum):
    """How urgent an alert is. Only warnings and critical alerts are sent; info is shown on the dashboard."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class Alert:
    """One thing an admin should know: a plain sentence, the number behind it and how to fix it.

    `check` identifies the check (one message per check per day); `level` orders states of the same check
    and severity (a higher level is worse, so it may alert again the same day)."""

    check: str
    severity: Severity
    sentence: str
    number: Decimal | int
    number_text: str
    fix: str
    page: str
    level: int = 0

    @property
    def rank(self) -> tuple[int, int]:
        return (int(self.severity), self.level)


@dataclass(frozen=True)
class Thresholds:
    """What the admin wants to be warned about (the defaults are what a new tenant gets)."""

    runway_days: int = 14
    low_balance: Decimal | None = None
    max_recharges_per_day: int = 3
    monthly_recharge_budget: Decimal | None = None
    stale_import_days: int = 7


@dataclass(frozen=True)
class TollFreeNumber:
    """A toll-free number callers dial (an auto attendant or call queue), with its recent credit-paid calls."""

    number: str
    resource_account: str | None
    calls_30d: int
    charged_30d: Decimal


@dataclass(frozen=True)
class Facts:
    """Everything the checks need, read once from the ledger and the tenant tables."""

    as_of: datetime
    currency: str
    funded: bool  # any lot was ever bought
    balance: Decimal
    daily_burn: Decimal  # average over the last 30 days
    auto_recharge_on: bool
    recharge_amount: Decimal | None
    recharge_below: Decimal | None
    days_to_trigger: float | None
    days_to_zero: float | None
    expiring: Sequence[tuple[int, Decimal, Decimal]] = ()  # (horizon days, expiring, likely forfeited)
    recharges_24h: int = 0
    recharged_this_month: Decimal = Decimal(0)
    recharges_since_mca: int = 0
    calling_users: int = 0
    not_ready: int = 0  # users who cannot dial out (readiness view), of calling_users
    not_ready_reasons: Sequence[tuple[int, str]] = ()  # (users, "lack a Communication Credits license")
    top_reason: str | None = None  # reason code most users share
    not_ready_last_check: int | None = None
    last_check_at: datetime | None = None
    toll_free: Sequence[TollFreeNumber] = ()
    calls_imported: int = 0
    last_import_at: datetime | None = None
    newest_call_at: datetime | None = None  # start of the newest call imported: how current the data is
    quarantined_recent: int = 0  # rows quarantined in the last 7 days
    quarantined_since_check: int = 0
    blocked_recent: int = 0  # calls the balance could not pay in the last 7 days
    blocked_since_check: int = 0
    locale: str = "en_US"
    agreement: str = "MOSA"  # how the tenant buys: says who adds credits, and MCA bills usage in arrears

    @property
    def billed_in_arrears(self) -> bool:
        """MCA: no credits to buy; usage beyond the remaining balance is billed after use."""
        return self.agreement == "MCA"

    def add_credits(self, *, or_auto_recharge: bool = True) -> str:
        """What to do to add credits, in the words of how the tenant buys (a CSP partner buys for it)."""
        return how_to_add_credits(self.agreement, or_auto_recharge=or_auto_recharge)

    def money(self, amount) -> str:
        """`amount` in the tenant's currency, written the way the admin's locale writes it."""
        return format_money(Decimal(amount), self.currency, self.locale)
