"""The auto-recharge checks: one pure function per thing that can go wrong with auto-recharge (left on for an
MCA tenant, running away, over the monthly budget, a trigger or amount too small for the daily spend)."""

from __future__ import annotations

from .model import ADMIN_CENTER_AUTO_RECHARGE, FUNDING_PAGE, USAGE_PAGE, Alert, Facts, Severity, Thresholds


def check_auto_recharge(f: Facts, t: Thresholds) -> list[Alert]:
    """Auto-recharge set too tight or too small, running away, over budget, or left on for an MCA tenant."""
    alerts = [*_recharge_left_on_for_mca(f), *_runaway_recharges(f, t), *_recharges_over_budget(f, t)]
    if not f.auto_recharge_on or f.billed_in_arrears or f.daily_burn <= 0:
        return alerts
    return alerts + _recharge_trigger_too_tight(f) + _recharge_amount_too_small(f)


def _recharge_left_on_for_mca(f: Facts) -> list[Alert]:
    if not (f.billed_in_arrears and (f.auto_recharge_on or f.recharges_since_mca)):
        return []
    extra = f" and {f.recharges_since_mca} recharges were invoiced since the switch" if f.recharges_since_mca else ""
    return [
        Alert(
            "auto_recharge.mca",
            Severity.CRITICAL,
            "This tenant is on a Microsoft Customer Agreement but Communication Credits auto-recharge "
            f"is still on{extra}: the balance refills forever and billing never switches to post-usage.",
            f.recharges_since_mca,
            "on" if f.auto_recharge_on else f"{f.recharges_since_mca} recharges",
            f"Turn auto-recharge off: {ADMIN_CENTER_AUTO_RECHARGE}, uncheck Auto recharge, Save.",
            FUNDING_PAGE,
            1 + f.recharges_since_mca,
        )
    ]


def _runaway_recharges(f: Facts, t: Thresholds) -> list[Alert]:
    if f.recharges_24h <= t.max_recharges_per_day:
        return []
    return [
        Alert(
            "auto_recharge.runaway",
            Severity.CRITICAL,
            f"{f.recharges_24h} auto-recharges in the last 24 hours (more than your limit of "
            f"{t.max_recharges_per_day}): each one is an invoice of {f.money(f.recharge_amount or 0)}.",
            f.recharges_24h,
            f"{f.recharges_24h} recharges",
            "Check Usage for unusual calls, then raise the amount or turn auto-recharge off in Step 2.",
            USAGE_PAGE,
            f.recharges_24h,
        )
    ]


def _recharges_over_budget(f: Facts, t: Thresholds) -> list[Alert]:
    if t.monthly_recharge_budget is None or f.recharged_this_month <= t.monthly_recharge_budget:
        return []
    return [
        Alert(
            "auto_recharge.budget",
            Severity.CRITICAL,
            f"Auto-recharges this month total {f.money(f.recharged_this_month)}, above your monthly "
            f"budget of {f.money(t.monthly_recharge_budget)}.",
            f.recharged_this_month,
            f.money(f.recharged_this_month),
            "Check Usage for unusual calls; turn auto-recharge off in Step 2 to stop further invoices.",
            USAGE_PAGE,
            int(f.recharged_this_month / t.monthly_recharge_budget * 4),
        )
    ]


def _recharge_trigger_too_tight(f: Facts) -> list[Alert]:
    if f.recharge_below is None or f.recharge_below >= 2 * f.daily_burn:
        return []
    return [
        Alert(
            "auto_recharge.trigger",
            Severity.WARNING,
            f"The auto-recharge trigger ({f.money(f.recharge_below)}) covers less than two days of "
            f"calls ({f.money(2 * f.daily_burn)} at {f.money(f.daily_burn)} a day): calls may be "
            "blocked while a recharge is processed.",
            f.recharge_below,
            f.money(f.recharge_below),
            f'Raise "balance is below" to at least {f.money(2 * f.daily_burn)} in Step 2.',
            FUNDING_PAGE,
            1,
        )
    ]


def _recharge_amount_too_small(f: Facts) -> list[Alert]:
    if f.recharge_amount is None or f.recharge_amount >= f.daily_burn:
        return []
    return [
        Alert(
            "auto_recharge.amount",
            Severity.WARNING,
            f"Each auto-recharge adds {f.money(f.recharge_amount)}, less than one day of calls "
            f"({f.money(f.daily_burn)}): one invoice after another.",
            f.recharge_amount,
            f.money(f.recharge_amount),
            f'Raise "add this amount" to a week of calls ({f.money(7 * f.daily_burn)}) in Step 2.',
            FUNDING_PAGE,
            1,
        )
    ]
