"""Settle charged calls into the ledger set-based: the same rows `Ledger.spend` would write call by call.

Think of FIFO in cumulative-money space (docs/usage.md, DESIGN.md). Between two events that change the
rules (a lot expiring, a call the closed form does not cover), the calls' prefix sum S_k decides everything:
with balance b0 at the start, recharge amount R and trigger T, the number of auto-recharges after k calls is
n_k = max(0, ceil((S_k + T - b0) / R)), and spend k draws the money interval [S_k - c_k, S_k) from the queue
of lots (open lots, then each recharge lot of R appended). A call breaks the closed form when the balance
before it cannot pay it (a recharge before the call, or a blocked call) or when one recharge after it
would not lift the balance back to the trigger; such calls are stepped one at a time by exactly the
ledger's rules, and runs of blocked calls are skipped in one vectorised step. So the Python loop runs once
per batch, per lot expiry and per exceptional call, never once per ordinary call.

Rules kept from the per-call reference (`Ledger.spend`), which the property test checks row by row:
- calls are taken in (start time, usage id) order; ids of entries and lots follow that order;
- before each call, lots with expires_at <= call time expire (oldest lot id first), recorded at the lot's own
  expires_at with the remainder (0 included) as part of the next call that succeeds; a call that fails
  records nothing, so expiries due only by a failed last call stay unrecorded, as in the reference;
- a call the balance cannot cover, even after one recharge, is blocked: nothing is recorded, it stays
  unsettled and is listed in the report;
- calls earlier than the ledger's last entry ("late": their log arrived after later entries) are recorded at
  that last entry's time, keeping call order; the ledger never rewrites history (the call's own time stays
  in pstn_call and call_spend);
- calls already in the ledger are skipped (a different amount for the same usage id counts as a conflict).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidAmount
from .ledger import Agreement, Ledger, current_agreement, current_auto_recharge, expiry_instant, invoice_number
from ..money import currency_exponent, quantize

CENT = 100  # the ledger stores DECIMAL(18, 2): amounts here are integer hundredths
MIN_BATCH = 2048
MAX_BATCH = 1 << 22
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SettlementReport:
    """What a settlement did. `blocked_calls` lists the calls the balance could not cover."""

    settled: int = 0
    amount: Decimal = Decimal(0)
    recharges: int = 0
    recharged: Decimal = Decimal(0)
    expired_lots: int = 0
    forfeited: Decimal = Decimal(0)
    blocked: int = 0
    blocked_amount: Decimal = Decimal(0)
    late: int = 0  # earlier than the ledger's last entry: recorded at that entry's time
    conflicts: int = 0  # usage id already settled with another amount: not settled again
    billed_in_arrears: int = 0  # MCA tenants: calls (or the part of a call) the remaining lots could not pay
    arrears_amount: Decimal = Decimal(0)
    max_recharges_per_day: int = 0  # most auto-recharges on one UTC day so far: more than 3 means too frequent
    blocked_calls: pd.DataFrame = field(default=None, repr=False, compare=False)
    by_status: dict = field(default_factory=dict)  # imported calls per call_charges status, after settling


CALL_STATUSES = ("settled", "free", "operator", "other_currency", "blocked", "estimate", "pending")


# ---- reading what to settle ------------------------------------------------------------------------------

# What Microsoft charged (operator Microsoft or not given), rounded half-up to the minor unit, in the
# ledger's currency (view microsoft_charge, sql/charges_views.sql). Estimates from the rate card never settle.
CALLS_TO_SETTLE = """
SELECT c.usage_id, epoch_us(c.start_at) AS t_us, (c.charge * 100)::BIGINT AS cents
FROM microsoft_charge c
WHERE c.billed_by = 'microsoft' AND c.charge > 0 AND c.currency = $1
  AND ($2::TIMESTAMPTZ IS NULL OR c.start_at <= $2)
ORDER BY c.start_at, c.usage_id
"""


def settle(ledger: Ledger, *, until: datetime | None = None, calls=None) -> SettlementReport:
    """Settle what Microsoft charged for every imported, unsettled call (up to `until`); one transaction.

    A call draws exactly its reported `charge` rounded half-up to the minor unit; calls another operator
    bills, calls without a charge (estimates only) and calls in another currency than the ledger's are
    never settled (`call_charges` says why for each). `calls` (optional): a DataFrame with usage_id,
    start_at, charge to settle instead (what-if replays use it). Raises InvalidAmount when a given charge
    has more decimals than the currency allows."""
    with ledger.store.transaction() as con:
        if calls is None:
            table = con.sql(CALLS_TO_SETTLE, params=[ledger.currency, until]).to_arrow_table()
        else:
            table = _calls_table(con, calls, until)
        report = _settle_in(con, ledger, table)
        # every imported call by status after this settlement (view call_charges): nothing unpaid in silence
        counts = dict(con.execute("SELECT status, count(*) FROM call_charges GROUP BY status").fetchall())
        return replace(report, by_status={s: int(counts.get(s, 0)) for s in CALL_STATUSES})


def _calls_table(con, calls, until) -> pa.Table:
    """Calls given as a DataFrame or Arrow table (usage_id, start_at, charge) as (usage_id, t_us, cents)."""
    table = calls if isinstance(calls, pa.Table) else pa.Table.from_pandas(pd.DataFrame(calls), preserve_index=False)
    con.register("_settle_input", table.select(["usage_id", "start_at", "charge"]))
    try:
        rows = con.sql(
            """
            SELECT usage_id::VARCHAR AS usage_id, epoch_us(start_at::TIMESTAMPTZ) AS t_us,
                   TRY_CAST(charge::VARCHAR AS DECIMAL(18, 6)) AS exact,
                   (exact * 100)::BIGINT AS cents
            FROM _settle_input
            WHERE $1::TIMESTAMPTZ IS NULL OR start_at::TIMESTAMPTZ <= $1
            """,
            params=[until],
        ).to_arrow_table()
    finally:
        con.unregister("_settle_input")
    exact = rows["exact"]
    if pc.any(pc.or_(pc.is_null(exact), pc.less(exact, 0))).as_py():
        raise InvalidAmount("charge", "every call needs a charge of zero or more, e.g. '0.25'.")
    if pc.any(pc.not_equal(pc.cast(pc.round(exact, 2), pa.decimal128(18, 6)), exact)).as_py():
        raise InvalidAmount("charge", "a charge has more than 2 decimals; rate the calls first.")
    return rows.drop_columns(["exact"])


def _settle_in(con, ledger: Ledger, table: pa.Table) -> SettlementReport:
    """Settle `table` (usage_id, t_us, cents; any order) inside the open transaction `con`."""
    exponent = currency_exponent(ledger.currency)
    table = table.filter(pc.greater(table["cents"], 0))  # free calls draw nothing
    table = table.take(pc.sort_indices(table, [("t_us", "ascending"), ("usage_id", "ascending")]))
    con.register("_settle_calls", table)
    try:
        # skip calls already in the ledger; the same id with another amount is a conflict
        known = con.execute(
            """
            SELECT count(*) FILTER (WHERE k.cents <> c.cents), list(c.usage_id)
            FROM _settle_calls c
            JOIN (SELECT usage_id, sum(cents) AS cents FROM (  -- an MCA call may be split: drawn + arrears
                      SELECT substr(idempotency_key, 7) AS usage_id, (-amount * 100)::BIGINT AS cents
                      FROM entry WHERE kind = 'spend'
                      UNION ALL SELECT usage_id, (amount * 100)::BIGINT FROM usage_in_arrears)
                  GROUP BY usage_id) k USING (usage_id)
            """
        ).fetchall()[0]
    finally:
        con.unregister("_settle_calls")
    conflicts, known_ids = known[0], known[1] or []
    if known_ids:
        table = table.filter(pc.invert(pc.is_in(table["usage_id"], pa.array(known_ids, pa.string()))))
    _check_decimals(table, exponent, ledger.currency)
    (last,) = con.execute("SELECT epoch_us(max(occurred_at)) FROM entry").fetchall()[0]
    late = 0
    if last is not None and len(table):
        # Call logs arrive after later orders are recorded; history is never rewritten, so such a call is
        # recorded at the ledger's last entry time (the earliest instant still open), in call order.
        late = pc.sum(pc.less(table["t_us"], last).cast(pa.int64())).as_py()
        if late:
            clamped = pc.max_element_wise(table["t_us"], pa.scalar(last, pa.int64()))
            table = table.set_column(table.schema.get_field_index("t_us"), "t_us", clamped)
            table = table.take(pc.sort_indices(table, [("t_us", "ascending"), ("usage_id", "ascending")]))
    usage_ids = table["usage_id"].combine_chunks() if len(table) else pa.array([], pa.string())
    times = table["t_us"].to_numpy() if len(table) else np.zeros(0, np.int64)
    cents = table["cents"].to_numpy() if len(table) else np.zeros(0, np.int64)

    lots = _open_lot_state(con)
    next_entry, next_lot = con.execute(
        "SELECT (SELECT COALESCE(max(entry_id), 0) + 1 FROM entry), (SELECT COALESCE(max(lot_id), 0) + 1 FROM lot)"
    ).fetchall()[0]
    agreement = current_agreement(con)
    auto = current_auto_recharge(con)
    if agreement is Agreement.MCA:
        return _settle_in_arrears(con, ledger, lots, next_entry, usage_ids, times, cents, late, conflicts)
    engine = _Engine(
        lots,
        next_entry,
        next_lot,
        recharge=int(auto.amount * CENT) if auto.enabled else None,
        trigger=int(auto.below * CENT) if auto.enabled else None,
    )
    engine.run(times, cents)
    _write(con, engine, usage_ids, times, cents)
    blocked_idx = np.concatenate(engine.blocked) if engine.blocked else np.zeros(0, np.int64)
    blocked_calls = pd.DataFrame(
        {
            "usage_id": usage_ids.take(pa.array(blocked_idx)).to_pylist() if len(blocked_idx) else [],
            "start_at": pd.to_datetime(times[blocked_idx], unit="us", utc=True),
            "charge": [quantize(Decimal(int(c)) / CENT, ledger.currency) for c in cents[blocked_idx]],
        }
    )
    if len(blocked_idx):
        _insert_stamped(
            con, "blocked_call", {"usage_id": usage_ids.take(pa.array(blocked_idx)),
                                  "start_at": _ts(times[blocked_idx]), "charge": decimal_array(cents[blocked_idx])},
            "WHERE usage_id NOT IN (SELECT usage_id FROM blocked_call)")
    money = lambda v: quantize(Decimal(int(v)) / CENT, ledger.currency)  # noqa: E731
    (busiest,) = con.execute("SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM lot WHERE source = "
                             "'auto_recharge' GROUP BY CAST(purchased_at AS DATE))").fetchall()[0]
    return SettlementReport(
        max_recharges_per_day=int(busiest),
        settled=engine.settled,
        amount=money(engine.settled_cents),
        recharges=engine.recharges,
        recharged=money(engine.recharges * (engine.recharge or 0)),
        expired_lots=engine.expired,
        forfeited=money(engine.forfeited_cents),
        blocked=len(blocked_idx),
        blocked_amount=money(cents[blocked_idx].sum()) if len(blocked_idx) else money(0),
        late=int(late),
        conflicts=int(conflicts),
        blocked_calls=blocked_calls,
    )


def _check_decimals(table: pa.Table, exponent: int, currency: str) -> None:
    if exponent >= 2 or len(table) == 0:
        return
    unit = 10 ** (2 - exponent)
    bad = pc.not_equal(pc.subtract(table["cents"], pc.multiply(pc.divide(table["cents"], unit), unit)), 0)
    if pc.any(bad).as_py():
        raise InvalidAmount("charge", f"some charges have more decimals than {currency} allows; rate them first.")


def _open_lot_state(con) -> dict:
    """Lots not yet expired (recorded), in lot id order, with their remainders in cents."""
    rows = con.execute(
        """
        SELECT l.lot_id, epoch_us(l.expires_at), (COALESCE(SUM(a.amount), 0) * 100)::BIGINT
        FROM lot l LEFT JOIN allocation a USING (lot_id)
        WHERE l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind = 'expiry')
        GROUP BY l.lot_id, l.expires_at
        ORDER BY l.lot_id
        """
    ).fetchall()
    return {
        "id": np.array([r[0] for r in rows], np.int64),
        "exp": np.array([r[1] for r in rows], np.int64),
        "rem": np.array([r[2] for r in rows], np.int64),
    }


# ---- the engine ------------------------------------------------------------------------------------------


def _expiry_us(t_us: int) -> int:
    at = datetime.fromtimestamp(t_us // 1_000_000, timezone.utc).replace(microsecond=int(t_us % 1_000_000))
    delta = expiry_instant(at) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _Engine:
    """FIFO settlement state and the rows it produces (as numpy chunks, written once at the end)."""

    def __init__(self, lots: dict, next_entry: int, next_lot: int, *, recharge: int | None, trigger: int | None):
        self.ids, self.exp, self.rem = lots["id"], lots["exp"], lots["rem"]
        self.next_entry, self.next_lot = int(next_entry), int(next_lot)
        self.recharge, self.trigger = recharge, trigger
        self.pending: list[tuple[int, int, int]] = []  # (lot_id, expires_at, remainder): due, not recorded
        self.blocked: list = []
        self.settled = self.settled_cents = self.recharges = self.expired = self.forfeited_cents = 0
        # output chunks
        self.spend_chunks: list[tuple] = []  # (call_idx, entry_id)
        self.recharge_chunks: list[tuple] = []  # (call_idx, lot_id, entry_id, before flag, expires_at)
        self.alloc_chunks: list[tuple] = []  # (entry_id, lot_id, cents)
        self.expiry_rows: list[tuple] = []  # (entry_id, lot_id, expires_at, remainder)

    @property
    def auto(self) -> bool:
        return self.recharge is not None

    def balance(self) -> int:
        return int(self.rem.sum())

    # -- expiry --

    def expire_due(self, t: int) -> None:
        due = self.exp <= t
        if due.any():
            for lot_id, exp, rem in zip(self.ids[due], self.exp[due], self.rem[due]):
                self.pending.append((int(lot_id), int(exp), int(rem)))
            keep = ~due
            self.ids, self.exp, self.rem = self.ids[keep], self.exp[keep], self.rem[keep]

    def _flush_expiries(self) -> None:
        # recorded by the next call that succeeds, oldest lot first (the ledger's DUE_LOTS order)
        for lot_id, exp, rem in sorted(self.pending):
            self.expiry_rows.append((self.next_entry, lot_id, exp, rem))
            self.next_entry += 1
            self.expired += 1
            self.forfeited_cents += rem
        self.pending = []

    def next_expiry(self) -> int:
        return int(self.exp.min()) if len(self.exp) else np.iinfo(np.int64).max

    # -- running the calls --

    def run(self, times: np.ndarray, cents: np.ndarray) -> None:
        pos, n, width = 0, len(times), MIN_BATCH
        while pos < n:
            self.expire_due(int(times[pos]))
            end = int(np.searchsorted(times, self.next_expiry(), side="left"))
            while pos < end:
                limit = min(end, pos + width)
                accepted, stop = self._batch(times, cents, pos, limit)
                pos += accepted
                if stop == "lots":  # a new recharge lot expires before the next call: expire it first
                    break
                if stop == "rule":
                    pos = self._step(times, cents, pos, end)
                    width = max(MIN_BATCH, width // 4)
                else:
                    width = min(MAX_BATCH, width * 4)
                end = min(end, int(np.searchsorted(times, self.next_expiry(), side="left")))

    def _batch(self, times, cents, start: int, limit: int) -> tuple[int, str | None]:
        """Settle calls [start, limit) while the closed form holds; return (how many, why it stopped)."""
        c = cents[start:limit]
        spent = np.cumsum(c)
        before = spent - c
        b0 = self.balance()
        if self.auto:
            R, T = self.recharge, self.trigger
            need = spent + T - b0
            n = np.maximum(0, -((-need) // R))  # ceil(need / R): recharges after the first k calls
            n_before = np.concatenate(([0], n[:-1]))
            available = b0 + n_before * R - before
            broken = (c > available) | (n - n_before > 1)
        else:
            n = n_before = np.zeros(len(c), np.int64)
            broken = c > b0 - before
        m = int(np.argmax(broken)) if broken.any() else len(c)
        stop = "rule" if m < len(c) else None
        recharged = (n[:m] - n_before[:m]).astype(bool) if m else np.zeros(0, bool)
        lot_exp = None
        if recharged.any():
            at = np.flatnonzero(recharged)
            lot_exp = np.array([_expiry_us(int(t)) for t in times[start + at]], np.int64)
            cut = int(np.searchsorted(times[start : start + m], lot_exp.min(), side="left"))
            if cut < m:
                m, stop = cut, "lots"
                keep = at < m
                recharged = recharged[:m]
                lot_exp = lot_exp[keep]
        if m == 0:
            return 0, stop
        self._commit(np.arange(start, start + m), c[:m], np.zeros(m, bool), recharged[:m], lot_exp)
        return m, stop

    def _step(self, times, cents, k: int, end: int) -> int:
        """Apply the ledger's per-call rule to call k; skip the run of blocked calls after it. Return the next position."""
        c, b = int(cents[k]), self.balance()
        R, T = self.recharge, self.trigger
        before = self.auto and c > b and b < T
        available = b + (R if before else 0)
        if c > available:  # blocked: nothing recorded; calls after it that also cannot pay are skipped at once
            limit = available  # a failed call leaves the state as it was, so the same test holds for the next calls
            rest = cents[k + 1 : end]
            payable = np.flatnonzero(rest <= limit)
            stop = k + 1 + (int(payable[0]) if len(payable) else len(rest))
            self.blocked.append(np.arange(k, stop))
            return stop
        after = self.auto and available - c < T
        lot_times = [int(times[k])] * (int(before) + int(after))
        lot_exp = np.array([_expiry_us(t) for t in lot_times], np.int64) if lot_times else None
        self._commit(np.array([k]), np.array([c]), np.array([before]), np.array([after]), lot_exp)
        return k + 1

    def _commit(self, call_idx, c, before, after, lot_exp) -> None:
        """Record spends for `call_idx` (charges `c`), with a recharge lot before/after where flagged."""
        self._flush_expiries()
        m = len(call_idx)
        before = before.astype(np.int64)
        after = after.astype(np.int64)
        per_call = before + 1 + after
        first_entry = self.next_entry + np.concatenate(([0], np.cumsum(per_call)[:-1]))
        spend_entry = first_entry + before
        lots_before_call = np.concatenate(([0], np.cumsum(before + after)[:-1]))  # new lots made before call k
        # money space: open lots, then each new lot (R each) in the order made
        b0 = self.balance()
        open_hi = np.cumsum(self.rem)
        open_lo = open_hi - self.rem
        made = int((before + after).sum())
        R = self.recharge or 0
        new_lo = b0 + np.arange(made, dtype=np.int64) * R
        lo = np.concatenate((open_lo, new_lo))
        hi = np.concatenate((open_hi, new_lo + R))
        new_ids = self.next_lot + np.arange(made, dtype=np.int64)
        ids = np.concatenate((self.ids, new_ids))
        spent = np.cumsum(c)
        start = spent - c
        # each spend's interval [start, spent) overlaps lots first..last (positive overlaps only)
        first = np.searchsorted(hi, start, side="right")
        last = np.searchsorted(lo, spent, side="left") - 1
        count = last - first + 1
        which = np.repeat(np.arange(m), count)
        offset = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
        lot_pos = first[which] + offset
        amount = np.minimum(spent[which], hi[lot_pos]) - np.maximum(start[which], lo[lot_pos])
        drawn = amount > 0  # the ledger records no zero draws
        self.alloc_chunks.append((spend_entry[which][drawn], ids[lot_pos][drawn], -amount[drawn]))
        self.spend_chunks.append((call_idx, spend_entry))
        if made:
            has_before = np.flatnonzero(before)
            has_after = np.flatnonzero(after)
            lot_no_before = lots_before_call[has_before]
            lot_no_after = lots_before_call[has_after] + before[has_after]
            lot_no = np.concatenate((lot_no_before, lot_no_after))
            entry = np.concatenate((first_entry[has_before], spend_entry[has_after] + 1))
            calls = np.concatenate((call_idx[has_before], call_idx[has_after]))
            flag = np.concatenate((np.ones(len(has_before), bool), np.zeros(len(has_after), bool)))
            order = np.argsort(lot_no, kind="stable")
            self.recharge_chunks.append(
                (calls[order], new_ids[lot_no[order]], entry[order], flag[order], lot_exp)
            )
        # new state
        total = int(spent[-1])
        remaining = np.clip(hi - np.maximum(lo, total), 0, None)
        self.ids = ids
        self.rem = remaining
        self.exp = np.concatenate((self.exp, lot_exp if made else np.zeros(0, np.int64)))
        self.next_entry = int(first_entry[-1] + per_call[-1])
        self.next_lot += made
        self.settled += m
        self.settled_cents += total
        self.recharges += made

    # -- flattened output --

    def spends(self):
        if not self.spend_chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return tuple(np.concatenate(parts) for parts in zip(*self.spend_chunks))

    def allocations(self):
        if not self.alloc_chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return tuple(np.concatenate(parts) for parts in zip(*self.alloc_chunks))

    def recharge_rows(self):
        if not self.recharge_chunks:
            z = np.zeros(0, np.int64)
            return z, z, z, np.zeros(0, bool), z
        return tuple(np.concatenate(parts) for parts in zip(*self.recharge_chunks))


# ---- writing ---------------------------------------------------------------------------------------------


def _insert_stamped(con, table: str, columns: dict, tail: str = "") -> None:
    """Append Arrow `columns` to `table` with the wall-clock time as its last column (table and tail are
    fixed SQL from this module)."""
    con.register("_s_rows", pa.table(columns))
    try:
        con.execute(f"INSERT INTO {table} SELECT *, $1 FROM _s_rows {tail}", [datetime.now(timezone.utc)]).fetchall()
    finally:
        con.unregister("_s_rows")


def decimal_array(cents: np.ndarray) -> pa.Array:
    """Integer hundredths as an exact Arrow DECIMAL(18, 2) array (no float on the way)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension to 128 bits
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [None, pa.py_buffer(words.tobytes())])


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _write(con, engine: _Engine, usage_ids: pa.Array, times: np.ndarray, cents: np.ndarray) -> None:
    now = pa.scalar(datetime.now(timezone.utc), pa.timestamp("us", tz="UTC"))
    spend_call, spend_entry = engine.spends()
    r_call, r_lot, r_entry, r_before, r_exp = engine.recharge_rows()
    a_entry, a_lot, a_cents = engine.allocations()
    e_rows = engine.expiry_rows
    R = engine.recharge or 0
    r_amount = decimal_array(np.full(len(r_lot), R, np.int64))
    r_key = pc.binary_join_element_wise(
        pc.if_else(pa.array(r_before, pa.bool_()), "recharge:before:", "recharge:after:"),
        usage_ids.take(pa.array(r_call, pa.int64())),
        "",
    )
    r_time = _ts(times[r_call])
    lots = pa.table(
        {
            "lot_id": pa.array(r_lot, pa.int64()),
            "purchased_at": r_time,
            "expires_at": _ts(r_exp),
            "amount": r_amount,
            "source": pa.array(["auto_recharge"] * len(r_lot), pa.string()),
            "order_id": r_key,
        }
    )
    x_entry = np.array([r[0] for r in e_rows], np.int64)
    x_lot = np.array([r[1] for r in e_rows], np.int64)
    x_time = np.array([r[2] for r in e_rows], np.int64)
    x_rem = np.array([r[3] for r in e_rows], np.int64)
    spend_ids = usage_ids.take(pa.array(spend_call, pa.int64()))
    entries = pa.concat_tables(
        [
            pa.table(
                {
                    "entry_id": pa.array(spend_entry, pa.int64()),
                    "occurred_at": _ts(times[spend_call]),
                    "kind": pa.array(["spend"] * len(spend_entry), pa.string()),
                    "amount": decimal_array(-cents[spend_call]),
                    "idempotency_key": pc.binary_join_element_wise("usage:", spend_ids, ""),
                    "lot_id": pa.nulls(len(spend_entry), pa.int64()),
                }
            ),
            pa.table(
                {
                    "entry_id": pa.array(r_entry, pa.int64()),
                    "occurred_at": r_time,
                    "kind": pa.array(["recharge"] * len(r_entry), pa.string()),
                    "amount": r_amount,
                    "idempotency_key": r_key,
                    "lot_id": pa.array(r_lot, pa.int64()),
                }
            ),
            pa.table(
                {
                    "entry_id": pa.array(x_entry, pa.int64()),
                    "occurred_at": _ts(x_time),
                    "kind": pa.array(["expiry"] * len(x_entry), pa.string()),
                    "amount": decimal_array(-x_rem),
                    "idempotency_key": pa.array([f"expiry:{i}" for i in x_lot], pa.string()),
                    "lot_id": pa.array(x_lot, pa.int64()),
                }
            ),
        ]
    )
    allocations = pa.table(
        {
            "entry_id": pa.array(np.concatenate((a_entry, r_entry, x_entry)), pa.int64()),
            "lot_id": pa.array(np.concatenate((a_lot, r_lot, x_lot)), pa.int64()),
            "amount": decimal_array(np.concatenate((a_cents, np.full(len(r_lot), R, np.int64), -x_rem))),
        }
    )
    invoices = pa.table(
        {
            "invoice_id": pa.array([invoice_number(int(i)) for i in r_lot], pa.string()),
            "issued_at": r_time,
            "lot_id": pa.array(r_lot, pa.int64()),
            "amount": r_amount,
            "reason": pa.array(["auto_recharge"] * len(r_lot), pa.string()),
        }
    )
    for name, table, sql in (
        ("_s_lot", lots, "INSERT INTO lot SELECT * FROM _s_lot ORDER BY lot_id"),
        ("_s_entry", entries, "INSERT INTO entry SELECT *, $1 FROM _s_entry ORDER BY entry_id"),
        ("_s_alloc", allocations, "INSERT INTO allocation SELECT * FROM _s_alloc ORDER BY entry_id, lot_id"),
        ("_s_invoice", invoices, "INSERT INTO invoice SELECT * FROM _s_invoice ORDER BY lot_id"),
    ):
        if len(table) == 0:
            continue
        con.register(name, table)
        try:
            con.execute(sql, [now.as_py()] if "$1" in sql else []).fetchall()
        finally:
            con.unregister(name)


def _settle_in_arrears(con, ledger, lots, next_entry, usage_ids, times, cents, late, conflicts) -> SettlementReport:
    """MCA: the remaining lots pay first (FIFO, expiring as before, no recharge), the rest is billed in
    arrears; every call succeeds, so each lot due by a call is recorded by the first call reaching it.
    One vectorised step per stretch between lot expiries."""
    engine = _Engine(lots, next_entry, 0, recharge=None, trigger=None)
    drawn = np.zeros(len(times), np.int64)
    pos, n = 0, len(times)
    while pos < n:
        engine.expire_due(int(times[pos]))
        engine._flush_expiries()  # recorded by this call whatever it draws
        end = int(np.searchsorted(times, engine.next_expiry(), side="left"))
        c = cents[pos:end]
        spent = np.cumsum(c)
        b = engine.balance()
        # call k draws the part of [S_k - c_k, S_k) below the balance; once the lots are empty, nothing
        part = np.minimum(spent, b) - np.minimum(spent - c, b)
        m = int(np.count_nonzero(part))  # a prefix: the calls before the lots ran dry
        if m:
            drawn[pos : pos + m] = part[:m]
            engine._commit(np.arange(pos, pos + m), part[:m], np.zeros(m, bool), np.zeros(m, bool), None)
        pos = end
    if n:
        _write(con, engine, usage_ids, times, drawn)
        owed = cents - drawn
        billed = np.flatnonzero(owed > 0)
        if len(billed):
            _insert_stamped(con, "usage_in_arrears",
                            {"usage_id": usage_ids.take(pa.array(billed)), "occurred_at": _ts(times[billed]),
                             "amount": decimal_array(owed[billed])},
                            "ORDER BY occurred_at, usage_id")
    else:
        billed = owed = np.zeros(0, np.int64)
    money = lambda v: quantize(Decimal(int(v)) / CENT, ledger.currency)  # noqa: E731
    return SettlementReport(
        settled=engine.settled,
        amount=money(engine.settled_cents),
        expired_lots=engine.expired,
        forfeited=money(engine.forfeited_cents),
        late=int(late),
        conflicts=int(conflicts),
        billed_in_arrears=len(billed),
        arrears_amount=money(owed[billed].sum()) if len(billed) else money(0),
        blocked_calls=pd.DataFrame({"usage_id": [], "start_at": [], "charge": []}),
    )
