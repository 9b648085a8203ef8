"""The checks: pure functions from plain facts about a tenant to alerts an admin can act on.

Each check returns a list of `Alert`s (empty when all is well). Nothing here reads the ledger or sends
anything: `facts.read_facts` gathers the numbers, `notify` decides what is due and sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from .model import (  # re-exported: the dashboard and the tests take these from checks
    CHECK_TITLES,
    CREDIT_LICENSES_PAGE,
    FUNDING_PAGE,
    LICENSES_PAGE,
    USAGE_PAGE,
    Alert,
    Facts,
    Severity,
    Thresholds,
    TollFreeNumber,
)
from .recharge_checks import check_auto_recharge

# ---- helpers --------------------------------------------------------------------------------------------


def _day(value: date | datetime) -> str:
    return value.strftime("%a %d %b %Y").replace(" 0", " ")


def _days(n: float) -> str:
    whole = int(n)
    return "1 day" if whole == 1 else f"{whole} days"


def _users(n: int) -> str:
    return "1 user" if n == 1 else f"{n} users"


def _band(days: float, threshold: int) -> int:
    """How far into the runway threshold we are, in coarse steps (so a slightly lower balance an hour later
    does not count as worse, but crossing a week, three days, one day or zero does)."""
    return sum(days <= limit for limit in (threshold, 7, 3, 1, 0))


# ---- the checks -----------------------------------------------------------------------------------------


def check_runway(f: Facts, t: Thresholds) -> list[Alert]:
    """The balance reaches the auto-recharge trigger, or zero without auto-recharge, within N days."""
    if f.billed_in_arrears or not f.funded:
        return []
    if f.balance <= 0 and not f.auto_recharge_on:
        return [
            Alert(
                "runway",
                Severity.CRITICAL,
                f"The Communication Credits balance is {f.money(f.balance)}: calls paid from credits "
                "(international, beyond included minutes, toll-free) are blocked now.",
                f.balance,
                f.money(f.balance),
                f.add_credits(),
                FUNDING_PAGE,
                _band(0, t.runway_days),
            )
        ]
    if f.auto_recharge_on:
        days = f.days_to_trigger
        if days is None or days > t.runway_days:
            return []
        when = _day(f.as_of + timedelta(days=days))
        return [
            Alert(
                "runway",
                Severity.INFO,
                f"Auto-recharge will add {f.money(f.recharge_amount)} around {when} "
                f"(in {_days(days)} at {f.money(f.daily_burn)} a day); an invoice follows.",
                Decimal(str(round(days, 1))),
                _days(days),
                "Nothing to do if that is expected; change the amount in Step 2.",
                FUNDING_PAGE,
                _band(days, t.runway_days),
            )
        ]
    days = f.days_to_zero
    if days is None or days > t.runway_days:
        return []
    when = _day(f.as_of + timedelta(days=days))
    severity = Severity.CRITICAL if days <= 3 else Severity.WARNING
    return [
        Alert(
            "runway",
            severity,
            f"Calls paid from credits stop in about {_days(days)} ({when}): the balance of "
            f"{f.money(f.balance)} lasts that long at {f.money(f.daily_burn)} a day, and auto-recharge is off.",
            Decimal(str(round(days, 1))),
            _days(days),
            f.add_credits(),
            FUNDING_PAGE,
            _band(days, t.runway_days),
        )
    ]


def check_low_balance(f: Facts, t: Thresholds) -> list[Alert]:
    """The balance is below the amount the admin set (off until one is set)."""
    if t.low_balance is None or f.billed_in_arrears or not f.funded or f.balance >= t.low_balance:
        return []
    return [
        Alert(
            "low_balance",
            Severity.WARNING,
            f"The balance is {f.money(f.balance)}, below your alert level of {f.money(t.low_balance)}.",
            f.balance,
            f.money(f.balance),
            f"{f.add_credits(or_auto_recharge=False)} Or lower the alert level on the Alerts page.",
            FUNDING_PAGE,
            1 if f.balance > 0 else 2,
        )
    ]


def check_expiring(f: Facts, t: Thresholds) -> list[Alert]:
    """Credits expiring within 30/60/90 days that will likely be forfeited at the current spend."""
    at_risk = [(h, e, lost) for h, e, lost in sorted(f.expiring) if lost > 0]
    if not at_risk:
        return []
    horizon, expiring, lost = at_risk[0]
    severity = Severity.WARNING if horizon <= 30 else Severity.INFO
    return [
        Alert(
            "expiring_funds",
            severity,
            f"{f.money(expiring)} of credits expire in the next {horizon} days and about {f.money(lost)} "
            f"of it will likely be lost at the current spending ({f.money(f.daily_burn)} a day).",
            lost,
            f.money(lost),
            "Credits expire 12 months after purchase and cannot be extended: buy smaller amounts "
            "(a smaller auto-recharge amount) in Step 2.",
            FUNDING_PAGE,
            {30: 3, 60: 2}.get(horizon, 1),
        )
    ]


def check_readiness(f: Facts, t: Thresholds) -> list[Alert]:
    """Users who cannot dial out (the readiness view's definition, as on every page), and the change since the
    last check."""
    if f.not_ready == 0:
        return []
    change = ""
    if f.not_ready_last_check is not None and f.not_ready != f.not_ready_last_check:
        delta = f.not_ready - f.not_ready_last_check
        when = f" on {f.last_check_at:%d %b}" if f.last_check_at else ""
        change = f" ({delta:+d} since the last check{when})"
    details = ", ".join(f"{n} {text}" for n, text in f.not_ready_reasons)
    subject = (
        f"1 of {f.calling_users} users cannot"
        if f.not_ready == 1
        else f"{f.not_ready} of {f.calling_users} users cannot"
    )
    page = CREDIT_LICENSES_PAGE if f.top_reason == "no_communication_credits_license" else LICENSES_PAGE
    step = "Step 3" if page == CREDIT_LICENSES_PAGE else "Step 1"
    return [
        Alert(
            "readiness",
            Severity.WARNING,
            f"{subject} dial out{change}: {details}.",
            f.not_ready,
            _users(f.not_ready),
            f"{step} lists each user's reason and fix; assign what is missing there.",
            page,
            f.not_ready,
        )
    ]


def check_toll_free(f: Facts, t: Thresholds) -> list[Alert]:
    """Toll-free numbers on auto attendants and call queues go silent when the balance runs out. (A resource
    account with a toll-free number but no Communication Credits license is a readiness reason already.)"""
    if not f.toll_free or f.billed_in_arrears:
        return []
    numbers = ", ".join(n.number + (f" ({n.resource_account})" if n.resource_account else "") for n in f.toll_free)
    calls = sum(n.calls_30d for n in f.toll_free)
    alerts = []
    out_of_money = f.funded and f.balance <= 0 and not f.auto_recharge_on
    soon = not f.auto_recharge_on and f.days_to_zero is not None and f.days_to_zero <= t.runway_days
    if not f.funded or out_of_money or soon:
        if not f.funded:
            why, severity = "no Communication Credits were bought", Severity.CRITICAL
        elif out_of_money:
            why, severity = "the balance is zero", Severity.CRITICAL
        else:
            why, severity = f"the balance runs out in about {_days(f.days_to_zero)}", Severity.WARNING
        alerts.append(
            Alert(
                "toll_free",
                severity,
                f"Toll-free {'number' if len(f.toll_free) == 1 else 'numbers'} {numbers} "
                f"({calls} calls in the last 30 days) stop taking calls when the balance is empty, "
                f"and {why}.",
                calls,
                f"{calls} calls",
                f"Toll-free calls need a positive Communication Credits balance. {f.add_credits()}",
                FUNDING_PAGE,
                2 if severity is Severity.CRITICAL else 1,
            )
        )
    return alerts


def check_freshness(f: Facts, t: Thresholds) -> list[Alert]:
    """The newest call in the logs is N days old (an import that brings only old rows does not make the data
    current); rows quarantined or calls blocked recently (and since the last check)."""
    alerts = []
    if f.calls_imported == 0 or f.newest_call_at is None:
        alerts.append(
            Alert(
                "freshness.import",
                Severity.INFO,
                "No call logs imported yet, so burn rate, runway and spend cannot be checked.",
                0,
                "0 calls",
                "Import call logs on the Usage page.",
                USAGE_PAGE,
                1,
            )
        )
    else:
        age = (f.as_of - f.newest_call_at).total_seconds() / 86400
        if age > t.stale_import_days:
            last = f" (last import on {_day(f.last_import_at)})" if f.last_import_at else ""
            alerts.append(
                Alert(
                    "freshness.import",
                    Severity.WARNING,
                    f"No calls in the call logs for {_days(age)}: the newest is from "
                    f"{_day(f.newest_call_at)}{last}. Balance, runway and these alerts are out of date.",
                    int(age),
                    _days(age),
                    "Import the latest call logs on the Usage page.",
                    USAGE_PAGE,
                    int(age),
                )
            )
    for key, recent, since, what in (
        ("freshness.quarantine", f.quarantined_recent, f.quarantined_since_check, "call log rows could not be read"),
        ("freshness.blocked", f.blocked_recent, f.blocked_since_check, "calls could not be paid from credits"),
    ):
        if recent:
            new = f" ({since} since the last check)" if since else ""
            alerts.append(
                Alert(
                    key,
                    Severity.WARNING,
                    f"{recent} {what} in the last 7 days{new}.",
                    recent,
                    f"{recent} rows" if key.endswith("quarantine") else f"{recent} calls",
                    "See why on the Usage page and fix or re-import them.",
                    USAGE_PAGE,
                    recent,
                )
            )
    return alerts


CHECKS: tuple[Callable[[Facts, Thresholds], list[Alert]], ...] = (
    check_runway,
    check_low_balance,
    check_expiring,
    check_auto_recharge,
    check_readiness,
    check_toll_free,
    check_freshness,
)


DEFAULT_THRESHOLDS = Thresholds()  # frozen: safe to share as a default


def run_checks(facts: Facts, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Alert]:
    """Every check's alerts, most severe first."""
    alerts = [a for check in CHECKS for a in check(facts, thresholds)]
    return sorted(alerts, key=lambda a: (-a.severity, a.check))


__all__ = [
    "CHECK_TITLES",
    "CHECKS",
    "Alert",
    "Facts",
    "Severity",
    "Thresholds",
    "TollFreeNumber",
    "check_auto_recharge",
    "check_expiring",
    "check_freshness",
    "check_low_balance",
    "check_readiness",
    "check_runway",
    "check_toll_free",
    "run_checks",
]
