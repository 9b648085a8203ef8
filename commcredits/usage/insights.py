"""Answers for admins and finance: where the money goes, when it runs out, what will expire unused.

Each function reads the views in sql/usage_views.sql (documented in docs/usage.md) or replays history on a
scratch in-memory ledger (what_if); none of them changes the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from ..credits.burn import BURN_WINDOW_DAYS, daily_burn
from ..credits.ledger import Agreement, Ledger, open_ledger, require_aware
from ..credits.rollups import fresh_mark
from ..credits.settlement import settle
from ..errors import InvalidInput, NotAllowedForAgreement
from ..money import parse_amount, quantize
from ..store import named_sql

_SQL = named_sql("insights_queries")

DIMENSIONS = {
    "user": "spend_by_user",
    "destination": "spend_by_destination",
    "call_type": "spend_by_call_type",
    "month": "spend_by_month",
    # the Teams PSTN usage report's own dimensions (issue 21): budgets by department, what each auto attendant,
    # call queue and phone number costs
    "department": "spend_by_department",
    "resource_account": "spend_by_resource_account",
    "number": "spend_by_number",
}


def spend_by(ledger: Ledger, dimension: str) -> pd.DataFrame:
    """Credits spent per 'user', 'destination', 'call_type', 'month', 'department', 'resource_account' (auto
    attendant or call queue, by its number) or 'number' (the tenant's number on the call): calls, minutes,
    amount, largest first (months in order).

    Raises InvalidInput for another dimension."""
    view = DIMENSIONS.get(dimension)
    if view is None:
        raise InvalidInput("dimension", f"{dimension!r} is not one of {', '.join(DIMENSIONS)}.")
    # the view's macro with the rollups' mark as a constant (an integer from the ledger): quick at any size
    return ledger.store.query_df(f"SELECT * FROM {view}_at({fresh_mark(ledger.store)})")


def balance_over_time(ledger: Ledger) -> pd.DataFrame:
    """The balance at the end of each day, with what was added, spent and forfeited that day."""
    fresh_mark(ledger.store)
    return ledger.store.query_df("SELECT * FROM daily_balance")


def invoices_by_month(ledger: Ledger) -> pd.DataFrame:
    """Invoices per month: count, amount, manual orders and auto-recharges."""
    return ledger.store.query_df("SELECT * FROM invoices_by_month")


def unsettled_calls(ledger: Ledger) -> pd.DataFrame:
    """Calls with money behind them that the ledger did not draw (pending, blocked, other currency,
    estimate-only), with status and reason."""
    return ledger.store.query_df("SELECT * FROM unsettled_calls ORDER BY start_at, usage_id")


def _as_of(ledger: Ledger, as_of: datetime | None) -> datetime:
    if as_of is not None:
        return require_aware(as_of, "as_of")
    (last,) = ledger.store.query("SELECT last_entry_at()")[0]
    return last or datetime.now(UTC)


@dataclass(frozen=True)
class Runway:
    """How long the balance lasts at the recent burn rate (None: it never gets there at that rate)."""

    as_of: datetime
    balance: Decimal
    daily_burn: Decimal
    trigger: Decimal | None
    days_to_trigger: float | None
    days_to_zero: float | None

    @property
    def trigger_date(self) -> date | None:
        return None if self.days_to_trigger is None else (self.as_of + timedelta(days=self.days_to_trigger)).date()

    @property
    def zero_date(self) -> date | None:
        return None if self.days_to_zero is None else (self.as_of + timedelta(days=self.days_to_zero)).date()


def runway(ledger: Ledger, *, days: int = BURN_WINDOW_DAYS, as_of: datetime | None = None) -> Runway:
    """Days until the balance reaches the auto-recharge trigger, and zero, at the burn rate of the last
    `days` days (expiries not counted: see expiring_funds)."""
    when = _as_of(ledger, as_of)
    balance = ledger.balance(when)
    burn = daily_burn(ledger, days=days, as_of=when)
    auto = ledger.auto_recharge
    trigger = auto.below if auto.enabled else None

    def days_until(level: Decimal) -> float | None:
        if balance <= level:
            return 0.0
        return None if burn <= 0 else float((balance - level) / burn)

    return Runway(
        when,
        balance,
        quantize(burn, ledger.currency),
        trigger,
        None if trigger is None else days_until(trigger),
        days_until(Decimal(0)),
    )


def expiring_funds(
    ledger: Ledger,
    *,
    horizons=(30, 60, 90),
    days: int = BURN_WINDOW_DAYS,
    as_of: datetime | None = None,
    lots: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per horizon (days): credits in lots expiring by then, and the part likely forfeited if spending
    goes on at the burn rate of the last `days` days (FIFO: the oldest lot is used first). `lots`: ledger.lots()
    if read already (a page shows them too: thousands on a tenant that recharges daily)."""
    when = _as_of(ledger, as_of)
    burn = daily_burn(ledger, days=days, as_of=when)
    (last,) = ledger.store.query("SELECT last_entry_at()")[0]
    if last is None or when >= last:  # now: the lots view (kept in rollups) already holds every remainder
        if lots is None:
            fresh_mark(ledger.store)
            lots = ledger.lots()
        alive = lots[~lots["expired"] & (lots["expires_at"] > when) & (lots["remaining"] > 0)].sort_values("lot_id")
        open_now = list(alive[["lot_id", "expires_at", "remaining"]].itertuples(index=False, name=None))
    else:
        open_now = _lots_as_of(ledger, when)
    return _forfeits(ledger, open_now, when, burn, horizons)


def _lots_as_of(ledger: Ledger, when: datetime) -> list:
    """(lot id, expiry, remainder) of the lots open at a past instant, replayed from the allocations."""
    return ledger.store.query(_SQL["lots_as_of"], [when])


def _forfeits(ledger: Ledger, lots: list, when: datetime, burn: Decimal, horizons) -> pd.DataFrame:
    forfeits, consumed = [], Decimal(0)
    for _, expires_at, remaining in lots:
        can_use = burn * Decimal((expires_at - when).total_seconds()) / 86400 - consumed
        used = min(remaining, max(Decimal(0), can_use))
        consumed += used
        forfeits.append((expires_at, remaining, remaining - used))
    rows = []
    for horizon in horizons:
        until = when + timedelta(days=horizon)
        due = [f for f in forfeits if f[0] <= until]
        rows.append(
            {
                "horizon_days": horizon,
                "until": until,
                "lots": len(due),
                "expiring": quantize(sum((f[1] for f in due), Decimal(0)), ledger.currency),
                "likely_forfeited": quantize(sum((f[2] for f in due), Decimal(0)), ledger.currency),
            }
        )
    return pd.DataFrame(rows)


def recent_entries(ledger: Ledger, limit: int = 15) -> pd.DataFrame:
    """The last `limit` journal entries, newest first: entry_id, occurred_at, kind, amount, balance_after and
    detail (who called where, for call charges; the idempotency key otherwise)."""
    # A call charge is recorded at its call's start or later (a late log: at the last entry's time), never
    # earlier. Calls from the oldest recent charge on are found at once (DuckDB skips older blocks of calls); only
    # a late call needs the look through every call.
    ((since,),) = ledger.store.query(_SQL["oldest_recent_spend"], {"limit": limit})
    frame = ledger.store.query_df(_SQL["recent_entries"], {"limit": limit, "since": since})
    if since is not None and not frame["traced"].all():
        frame = ledger.store.query_df(_SQL["recent_entries"], {"limit": limit, "since": None})
    return frame.drop(columns="traced")


# ---- what-if -------------------------------------------------------------------------------------------


def _usage(ledger: Ledger, start, end) -> pd.DataFrame:
    """Every call that drew (or tried to draw) on credits in [start, end): settled spends and unsettled ones."""
    return ledger.store.query_df(_SQL["usage_in_period"], [start, end])


def replay(ledger: Ledger, *, amount=None, below=None, start=None, end=None) -> dict:
    """Replay the usage in [start, end) on a scratch in-memory ledger with auto-recharge `amount`/`below`
    (both None: off), starting from the lots' remainders at `start` plus the manual orders placed in the
    period; return its invoices, forfeits and blocked calls."""
    if ledger.agreement is Agreement.MCA:
        raise NotAllowedForAgreement("MCA tenants buy no credits: there is nothing to replay.")
    scratch = open_ledger(currency=ledger.currency)
    if amount is not None or below is not None:
        scratch.set_auto_recharge(amount=amount, below=below)
    orders = ledger.store.query_df(_SQL["replay_orders"], [start, end])
    blocked_calls = _settle_between_orders(scratch, orders, _usage(ledger, start, end))
    invoices = scratch.store.query(_SQL["replay_invoices"], [start, end])[0]
    (forfeited,) = scratch.store.query(_SQL["replay_forfeited"], [start, end])[0]
    (balance,) = scratch.store.query("SELECT coalesce(sum(amount), 0) FROM entry")[0]
    days = pd.to_datetime(blocked_calls["start_at"], utc=True).dt.date.nunique() if len(blocked_calls) else 0
    return {
        "amount": amount,
        "below": below,
        "invoices": invoices[0],
        "invoiced": quantize(invoices[1], ledger.currency),
        "recharges": invoices[2],
        "forfeited": quantize(forfeited, ledger.currency),
        "blocked_calls": len(blocked_calls),
        "blocked_days": days,
        "end_balance": quantize(balance, ledger.currency),
    }


def _settle_between_orders(scratch: Ledger, orders: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    """Settle the calls on `scratch` in time order, placing each order when its purchase time comes; return
    the calls the balance could not pay."""
    blocked = []
    settled_until = None
    for order in orders.itertuples():
        before = calls[(calls["start_at"] < order.purchased_at)]
        if settled_until is not None:
            before = before[before["start_at"] >= settled_until]
        if len(before):
            blocked.append(settle(scratch, calls=before).blocked_calls)
        settled_until = order.purchased_at
        scratch.add_funds(order.amount, at=order.purchased_at.to_pydatetime(), order_id=order.order_id)
    rest = calls if settled_until is None else calls[calls["start_at"] >= settled_until]
    if len(rest):
        blocked.append(settle(scratch, calls=rest).blocked_calls)
    return pd.concat(blocked) if blocked else pd.DataFrame({"usage_id": [], "start_at": [], "charge": []})


def what_if(ledger: Ledger, *, amount=None, below=None, settings=None, start=None, end=None) -> pd.DataFrame:
    """Compare the current auto-recharge setting with others over past usage in [start, end).

    Give one alternative as amount/below or several as `settings` [(amount, below) or None for off].
    One row per setting ('current' first): invoices, invoiced, recharges, forfeited, blocked calls and the
    days with at least one blocked call, end balance. Raises InvalidAmount for a bad amount/below and
    NotAllowedForAgreement for MCA tenants."""
    start = None if start is None else require_aware(start, "start")
    end = None if end is None else require_aware(end, "end")
    alternatives = list(settings or [])
    if amount is not None or below is not None:
        alternatives.append((amount, below))
    current = ledger.auto_recharge
    rows = [
        {
            "scenario": "current",
            **replay(
                ledger,
                amount=current.amount if current.enabled else None,
                below=current.below if current.enabled else None,
                start=start,
                end=end,
            ),
        }
    ]
    for setting in alternatives:
        if setting is None:
            rows.append({"scenario": "auto-recharge off", **replay(ledger, start=start, end=end)})
            continue
        add, trigger = (parse_amount(v, ledger.currency, f) for v, f in zip(setting, ("amount", "below")))
        rows.append(
            {
                "scenario": f"add {add} below {trigger}",
                **replay(ledger, amount=add, below=trigger, start=start, end=end),
            }
        )
    return pd.DataFrame(rows)
