"""The Communication Credits ledger: exact money, append-only, FIFO across 12-month lots, auto-recharge.

Every public operation is one transaction: it first expires the lots that are due (each exactly once, at
its own expiry instant), then records what was asked. Nothing is ever updated or deleted; replaying an
order id or usage id returns the original result and records nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from ..errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    InvalidInput,
    InvalidTime,
    NotAllowedForAgreement,
)
from ..money import MAX_LEDGER_TOTAL, field_label, parse_amount, quantize, validate_currency
from ..store import LOCK_RETRY_SECONDS, MEMORY, Store, named_sql
from ..versioned import append_setting
from .agreement import (  # re-exported: callers import these from the ledger
    Agreement,
    AutoRecharge,
    _parse_agreement,
    current_agreement,
    current_auto_recharge,
)
from .rules import (  # re-exported: callers import these from the ledger
    Allocation,
    Lot,
    allocate_fifo,
    expiry_instant,
    invoice_number,
    require_aware,
    require_key,
    setting_at,
)


def auto_recharge_timeline(con) -> list[tuple[datetime, AutoRecharge]]:
    """Every auto-recharge setting as (when it took effect, setting), oldest first, "off" before the first save
    (see _from_the_beginning). A call is judged with the setting in force at its time (rules.setting_at,
    docs/billing.md)."""
    rows = con.execute(
        "SELECT changed_at, enabled, amount, below FROM auto_recharge_change ORDER BY change_id"
    ).fetchall()
    timeline = [
        (at, AutoRecharge(True, amount, below) if on else AutoRecharge(False)) for at, on, amount, below in rows
    ]
    return _from_the_beginning(con, timeline, AutoRecharge(False))


def agreement_timeline(con) -> list[tuple[datetime, Agreement]]:
    """Every agreement type recorded as (when it took effect, agreement), oldest first, MOSA before the first
    save (see _from_the_beginning). A call is paid by the rules of the agreement in force at its time
    (rules.setting_at, docs/billing.md)."""
    rows = con.execute("SELECT changed_at, agreement FROM agreement_change ORDER BY change_id").fetchall()
    return _from_the_beginning(con, [(at, Agreement(value)) for at, value in rows], Agreement.MOSA)


def _from_the_beginning(con, timeline: list[tuple], default) -> list[tuple]:
    """A settings timeline that says what held before its first saved row. The calls the ledger paid or billed in
    arrears before that row was saved were judged by the default, and stay so when a late call log makes the
    ledger work them out again: the default holds up to the latest of them. After them the first saved row holds,
    also before it was saved: nothing says what was set before the workbook recorded it, a setup's answers come
    before any call, and calls blocked before it (no funds yet) are paid by it when settled again."""
    beginning = datetime.min.replace(tzinfo=UTC)
    if not timeline:
        return [(beginning, default)]
    (judged,) = con.execute(SQL["calls_judged_before"], [timeline[0][0]]).fetchall()[0]
    if judged is None:
        return timeline
    # the first row from just after them (even past its save: a call may be recorded up to a day ahead)
    start = judged + timedelta(microseconds=1)
    first, *later = timeline
    return [(beginning, default), (start, *first[1:]), *((max(at, start), *rest) for at, *rest in later)]


# ---- when an operation may be recorded (tests widen FUTURE_TOLERANCE here) -----------------------------

# Recorded operations happen now (or were recorded by a system a little earlier): a time more than a day
# ahead would block every later operation as "backdated"; one before 2000 predates Teams.
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def require_recordable(value, field: str = "at", now: datetime | None = None) -> datetime:
    """`require_aware`, and within the horizon a recorded operation may have: 2000 to a day from now."""
    when = require_aware(value, field)
    now = now or _now()
    if when > now + FUTURE_TOLERANCE:
        raise InvalidTime(
            field,
            f"{when.isoformat()} is more than a day ahead of now ({now:%Y-%m-%d %H:%M} UTC); "
            "operations are recorded when they happen. Check the date.",
        )
    if when < EARLIEST:
        raise InvalidTime(field, f"{when.isoformat()} is before {EARLIEST:%Y}; check the date.")
    return when


def _now() -> datetime:
    return datetime.now(UTC)


# ---- SQL used inside transactions (commcredits/sql/ledger_queries.sql) ----------------------------------

SQL = named_sql("ledger_queries")


class Ledger:
    """A tenant's Communication Credits ledger in one DuckDB database (file or ':memory:').

    Open it with `open_ledger`. The object holds no connection between calls (see store.py).
    """

    def __init__(self, store: Store, currency: str):
        self.store = store
        self.currency = currency

    def __repr__(self) -> str:
        return f"<Ledger {self.store.path} {self.currency}>"

    # ---- settings ----

    @property
    def agreement(self) -> Agreement:
        with self.store.reading() as con:
            return current_agreement(con)

    @property
    def auto_recharge(self) -> AutoRecharge:
        with self.store.reading() as con:
            return current_auto_recharge(con)

    def set_agreement(self, agreement: Agreement | str) -> None:
        """Record the tenant's agreement type. Raises NotAllowedForAgreement when switching to MCA while
        auto-recharge is on (MCA tenants must keep it off)."""
        value = _parse_agreement(agreement)
        with self.store.transaction() as con:
            if value is Agreement.MCA and current_auto_recharge(con).enabled:
                raise NotAllowedForAgreement(
                    "Turn auto-recharge off before switching to a Microsoft Customer Agreement (MCA): "
                    "MCA tenants buy no credits and must keep auto-recharge off."
                )
            append_setting(con, "agreement_change", {"agreement": value.value})

    def set_auto_recharge(self, *, amount, below) -> AutoRecharge:
        """Turn on auto-recharge: add `amount` whenever the balance is below `below`.

        Raises InvalidAmount naming `amount` or `below`, and NotAllowedForAgreement for MCA tenants."""
        add = parse_amount(amount, self.currency, "amount")
        trigger = parse_amount(below, self.currency, "below")
        setting = AutoRecharge(True, add, trigger)
        with self.store.transaction() as con:
            self._refuse_for_mca(con, "turn on auto-recharge")
            append_setting(con, "auto_recharge_change", {"enabled": True, "amount": add, "below": trigger})
        return setting

    def disable_auto_recharge(self) -> AutoRecharge:
        """Turn auto-recharge off (always allowed)."""
        with self.store.transaction() as con:
            append_setting(con, "auto_recharge_change", {"enabled": False, "amount": None, "below": None})
        return AutoRecharge(False)

    # ---- money in ----

    def add_funds(self, amount, *, at: datetime | None, order_id: str) -> Lot:
        """Buy a lot of credit at `at` (None: now); it expires 12 months later and comes with an invoice.

        Idempotent on `order_id`: the same order again returns the original lot and records nothing.
        Raises InvalidAmount, InvalidTime (naive or earlier than the last entry), IdempotencyConflict (same
        order id, other amount), NotAllowedForAgreement (MCA)."""
        value = parse_amount(amount, self.currency, "amount")
        when = None if at is None else require_recordable(at)
        key = require_key(order_id, "order_id")
        with self.store.transaction() as con:
            when = when or _now()
            existing = _lot_by_order(con, key)
            if existing is not None:
                if existing.amount != value:
                    raise IdempotencyConflict(
                        "order_id",
                        f"order {key} was already placed for {existing.amount} {self.currency}, not {value}.",
                    )
                return existing
            self._refuse_for_mca(con, "buy Communication Credits")
            self._check_time_order(con, when)
            self._expire_due(con, when)
            return self._buy_lot(con, when, value, "order", key)

    # ---- money out ----

    def spend(self, amount, *, at: datetime | None, usage_id: str) -> list[Allocation]:
        """Pay `amount` at `at` (None: now) from the oldest unexpired lots first; returns [(lot_id, amount)].

        Auto-recharge (when on) adds one lot before a spend the balance cannot cover and one after a spend
        that leaves the balance below the trigger, each only while the balance is below the trigger.
        Idempotent on `usage_id`. MCA tenants: the remaining lots pay first (FIFO, no recharge); what they
        cannot cover is recorded as billed in arrears (a call may be split between the two).
        Raises InsufficientCredits (nothing recorded), InvalidAmount, InvalidTime, IdempotencyConflict."""
        value = parse_amount(amount, self.currency, "amount")
        when = None if at is None else require_recordable(at)
        key = require_key(usage_id, "usage_id")
        with self.store.transaction() as con:
            when = when or _now()
            replay = self._replayed_spend(con, key, value)
            if replay is not None:
                return replay
            self._check_time_order(con, when)
            self._expire_due(con, when)
            # `at` need not be the imported call's time: settlement's duplicate check reads these ids apart
            con.execute("INSERT INTO spend_outside_log VALUES ($1)", [key]).fetchall()
            open_lots = _open_lots(con, when)
            available = sum((r for _, r in open_lots), Decimal(0))
            if setting_at(agreement_timeline(con), when)[1] is Agreement.MCA:
                return self._spend_mca(con, when, key, value, open_lots, available)
            auto = setting_at(auto_recharge_timeline(con), when)[1]
            if available < value and auto.enabled and available < auto.below:
                self._buy_lot(con, when, auto.amount, "auto_recharge", f"recharge:before:{key}")
                open_lots = _open_lots(con, when)
                available += auto.amount
            if available < value:
                raise InsufficientCredits(value, quantize(available, self.currency), self.currency)
            allocations = allocate_fifo(open_lots, value)
            entry_id = _insert_entry(con, when, "spend", -value, None, None, key)
            con.executemany(
                "INSERT INTO allocation VALUES ($1, $2, $3)", [[entry_id, a.lot_id, -a.amount] for a in allocations]
            )
            if auto.enabled and available - value < auto.below:
                self._buy_lot(con, when, auto.amount, "auto_recharge", f"recharge:after:{key}")
            return allocations

    def _spend_mca(self, con, when, key: str, value: Decimal, open_lots, available: Decimal) -> list[Allocation]:
        # "Turn off Communication Credits auto recharge for MCA customers": the remaining balance is consumed
        # first, then usage is billed after the fact. A call bigger than what is left is split (Microsoft
        # does not say how one call straddling the switch is split; docs/billing.md).
        drawn = min(value, available)
        allocations = allocate_fifo(open_lots, drawn) if drawn > 0 else []
        if drawn > 0:
            entry_id = _insert_entry(con, when, "spend", -drawn, None, None, key)
            con.executemany(
                "INSERT INTO allocation VALUES ($1, $2, $3)", [[entry_id, a.lot_id, -a.amount] for a in allocations]
            )
        if value > drawn:
            con.execute(
                "INSERT INTO usage_in_arrears (usage_id, occurred_at, amount, recorded_at) VALUES ($1, $2, $3, $4)",
                [key, when, value - drawn, _now()],
            ).fetchall()
        return allocations

    def expire(self, at: datetime | None = None) -> Decimal:
        """Expire every lot whose expiry is at or before `at` (None: now), each exactly once; return what
        was forfeited."""
        when = None if at is None else require_recordable(at)
        with self.store.transaction() as con:
            when = when or _now()
            return quantize(self._expire_due(con, when), self.currency)

    # ---- questions ----

    def balance(self, at: datetime | None = None, *, known_at: datetime | None = None) -> Decimal:
        """The balance now, or as of any instant `at` (past or future: due expiries count), as the ledger stands
        now; with `known_at`, as the ledger said at that (wall-clock) time, before later call logs corrected it."""
        when = _now() if at is None else require_aware(at)
        if known_at is None:
            (value,) = self.store.query(SQL["balance_at"], [when])[0]
        else:
            (value,) = self.store.query(SQL["balance_at_known"], [when, require_aware(known_at, "known_at")])[0]
        return quantize(value, self.currency)

    def lots(self) -> pd.DataFrame:
        """Every lot with remaining, spent and forfeited amounts."""
        return self.store.query_df("SELECT * FROM lots ORDER BY lot_id")

    def entries(self) -> pd.DataFrame:
        """The journal, oldest first, with the balance after each entry."""
        return self.store.query_df("SELECT * FROM entries ORDER BY entry_id")

    def allocations(self) -> pd.DataFrame:
        """Each entry's movement per lot."""
        return self.store.query_df("SELECT * FROM allocations ORDER BY entry_id, lot_id")

    def invoices(self) -> pd.DataFrame:
        """One invoice per order and per auto-recharge."""
        return self.store.query_df("SELECT * FROM invoices ORDER BY issued_at, invoice_id")

    def balance_history(self) -> pd.DataFrame:
        """The balance after every change."""
        return self.store.query_df("SELECT * FROM balance_history ORDER BY entry_id")

    # ---- internals (all take the open transaction's connection) ----

    def _refuse_for_mca(self, con, what: str) -> None:
        if current_agreement(con) is Agreement.MCA:
            raise NotAllowedForAgreement(
                f"Cannot {what}: this tenant is on a Microsoft Customer Agreement (MCA). MCA tenants buy no "
                "Communication Credits and keep auto-recharge off; their calls are billed in arrears."
            )

    def _check_time_order(self, con, when: datetime) -> None:
        (last,) = con.execute(SQL["last_entry_time"]).fetchall()[0]
        if last is not None and when < last:
            raise InvalidTime(
                "at",
                f"{when.isoformat()} is before the last recorded entry ({last.isoformat()}); "
                "the ledger records events in time order and never rewrites history.",
            )

    def _expire_due(self, con, when: datetime) -> Decimal:
        forfeited = Decimal(0)
        for lot_id, expires_at, remaining in con.execute(SQL["due_lots"], [when]).fetchall():
            entry_id = _insert_entry(con, expires_at, "expiry", -remaining, f"expiry:{lot_id}", lot_id)
            con.execute("INSERT INTO allocation VALUES ($1, $2, $3)", [entry_id, lot_id, -remaining]).fetchall()
            forfeited += remaining
        return forfeited

    def _buy_lot(self, con, when: datetime, amount: Decimal, source: str, order_id: str) -> Lot:
        (lot_id, bought) = con.execute(SQL["next_lot"]).fetchall()[0]
        if bought + amount > MAX_LEDGER_TOTAL:  # keeps every running total within what the views hold
            room = MAX_LEDGER_TOTAL - bought
            raise InvalidAmount(
                "amount",
                f"{field_label('amount')}: too large. Purchases so far total {bought:,} "
                f"{self.currency}, and all purchases together may not exceed "
                f"{MAX_LEDGER_TOTAL:,} {self.currency}: the largest amount accepted now "
                f"is {room:,} {self.currency}.",
            )
        lot = Lot(lot_id, when, expiry_instant(when), amount, source, order_id)
        con.execute(
            "INSERT INTO lot VALUES ($1, $2, $3, $4, $5, $6)",
            [lot.lot_id, lot.purchased_at, lot.expires_at, lot.amount, lot.source, lot.order_id],
        ).fetchall()
        kind = "purchase" if source == "order" else "recharge"
        key = f"order:{order_id}" if source == "order" else order_id
        entry_id = _insert_entry(con, when, kind, amount, key, lot_id)
        con.execute("INSERT INTO allocation VALUES ($1, $2, $3)", [entry_id, lot_id, amount]).fetchall()
        con.execute(
            "INSERT INTO invoice VALUES ($1, $2, $3, $4, $5)", [invoice_number(lot_id), when, lot_id, amount, source]
        ).fetchall()
        return lot

    def _replayed_spend(self, con, key: str, value: Decimal) -> list[Allocation] | None:
        # an MCA call may be split: part drawn from lots (a spend entry), the rest billed in arrears
        rows = con.execute(SQL["recorded_spend"], [key]).fetchall()
        if not rows:
            return None
        entry_id, recorded = rows[0]
        if recorded != value:
            raise IdempotencyConflict(
                "usage_id", f"usage {key} was already recorded for {recorded} {self.currency}, not {value}."
            )
        if entry_id is None:
            return []
        return [
            Allocation(int(lot_id), -amount)
            for lot_id, amount in con.execute(SQL["entry_allocations"], [entry_id]).fetchall()
        ]


def _open_lots(con, when: datetime) -> list[tuple[int, Decimal]]:
    return con.execute(SQL["open_lots"], [when]).fetchall()


def _lot_by_order(con, order_id: str) -> Lot | None:
    rows = con.execute(SQL["lot_by_order"], [order_id]).fetchall()
    return Lot(*rows[0]) if rows else None


def _insert_entry(con, when, kind: str, amount: Decimal, key: str | None, lot_id, usage_id: str | None = None) -> int:
    """Append one journal entry; a spend names its call (usage_id, its key) and the call's time (`when`)."""
    call_at = when if usage_id is not None else None
    return con.execute(SQL["insert_entry"], [when, kind, amount, key, lot_id, _now(), usage_id, call_at]).fetchall()[0][
        0
    ]


def open_ledger(
    path=MEMORY,
    *,
    currency: str | None = None,
    agreement: Agreement | str | None = None,
    busy_timeout: float = LOCK_RETRY_SECONDS,
) -> Ledger:
    """Open (or create) the ledger in a DuckDB file or ':memory:'.

    `currency` is fixed when the ledger is created (default USD); giving another one later raises
    InvalidInput. `agreement`, when given, is recorded if it differs from the current one. While another
    process holds the file, operations retry for `busy_timeout` seconds, then raise LedgerBusy."""
    store = Store(path, busy_timeout=busy_timeout)
    wanted = validate_currency(currency) if currency is not None else None
    with store.transaction() as con:
        rows = con.execute("SELECT currency FROM ledger_currency").fetchall()
        if rows:
            existing = rows[0][0]
            if wanted is not None and wanted != existing:
                raise InvalidInput("currency", f"this ledger keeps {existing}; it cannot switch to {wanted}.")
        else:
            existing = wanted or "USD"
            con.execute("INSERT INTO tenant VALUES ($1, $2)", [existing, _now()]).fetchall()
    ledger = Ledger(store, existing)
    if agreement is not None and _parse_agreement(agreement) is not ledger.agreement:
        ledger.set_agreement(agreement)
    return ledger
