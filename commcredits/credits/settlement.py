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
from .ledger import LOT_TERM_MONTHS, Agreement, Ledger, current_agreement, current_auto_recharge, invoice_number
from ..money import currency_exponent, quantize

CENT = 100  # the ledger stores DECIMAL(18, 2): amounts here are integer hundredths
MIN_BATCH = 2048
MAX_BATCH = 1 << 22
CHUNK = 1 << 20  # calls settled and written per step: bounds memory, not the result
MEMORY_LIMIT = "1GB"  # DuckDB's share while settling a ledger file (sorting and staging spill beyond it)


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
WHERE c.billed_by = 'microsoft' AND c.charge > 0 AND c.currency = $currency
  AND ($until::TIMESTAMPTZ IS NULL OR c.start_at <= $until)
"""


def settle(ledger: Ledger, *, until: datetime | None = None, calls=None) -> SettlementReport:
    """Settle what Microsoft charged for every imported, unsettled call (up to `until`), in call order; one
    transaction for up to CHUNK calls, one per CHUNK calls beyond (see _commit_chunk).

    A call draws exactly its reported `charge` rounded half-up to the minor unit; calls another operator
    bills, calls without a charge (estimates only) and calls in another currency than the ledger's are
    never settled (`call_charges` says why for each). `calls` (optional): a DataFrame with usage_id,
    start_at, charge to settle instead (what-if replays use it). Raises InvalidAmount when a given charge
    has more decimals than the currency allows.

    The calls are put in order once in DuckDB (which spills to disk when it must), then settled and written
    CHUNK calls at a time: memory stays bounded whatever the number of calls."""
    with ledger.store.transaction() as con:
        if not ledger.store.is_memory:  # this connection's own instance: past the cap DuckDB spills to disk
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        if calls is None:  # read where they are: staging them first would copy every call once more
            source, params = f"({CALLS_TO_SETTLE})", {"currency": ledger.currency, "until": until}
        else:
            _stage_given(con, calls, until)
            source, params = "_settle_input", {}
        report, considered = _settle_staged(con, ledger, source, params)
        for name in ("_settle_input", "_settle_known", "_settle_calls"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        if calls is None:
            counts = _status_counts(con, report, considered, until)
        else:  # the given calls need not be imported ones: ask the view
            counts = dict(con.execute("SELECT status, count(*) FROM call_charges GROUP BY status").fetchall())
        return replace(report, by_status={s: int(counts.get(s, 0)) for s in CALL_STATUSES})


def _status_counts(con, report: SettlementReport, considered: int, until: datetime | None) -> dict:
    """Every imported call by status after settling them (the statuses of view call_charges): nothing unpaid in
    silence. What Microsoft's row decides is counted from the rows alone; each call this settlement considered
    (charged, in the ledger's currency, up to `until`) is now settled or blocked, as its report says. Only the
    charged calls after `until` need their spend entries looked up: joining every call with its entry costs
    more than the settlement itself on a big ledger."""
    counts = dict(con.execute(
        "SELECT row_status, count(*) FROM call_row_status WHERE row_status IS NOT NULL GROUP BY row_status"
    ).fetchall())
    counts["settled"], counts["blocked"] = considered - report.blocked, report.blocked
    if until is not None:
        later = con.execute(
            """SELECT status, count(*) FROM call_charges
               WHERE start_at > $1 AND status IN ('settled', 'blocked', 'pending') GROUP BY status""", [until]
        ).fetchall()
        for status, n in later:
            counts[status] = counts.get(status, 0) + n
    return counts


def _stage_given(con, calls, until) -> None:
    """Calls given as a DataFrame or Arrow table (usage_id, start_at, charge) into _settle_input
    (usage_id, t_us, cents), refusing negative, missing or sub-cent charges."""
    table = calls if isinstance(calls, pa.Table) else pa.Table.from_pandas(pd.DataFrame(calls), preserve_index=False)
    table = table.select(["usage_id", "start_at", "charge"])
    # exact decimals cast directly; anything else (text, floats) through its text, as written
    charge = "charge" if pa.types.is_decimal(table.schema.field("charge").type) else "charge::VARCHAR"
    con.register("_settle_given", table)
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _settle_input AS
            SELECT usage_id, t_us, (exact * 100)::BIGINT AS cents,
                   exact IS NULL OR exact < 0 AS missing, round(exact, 2) <> exact AS fraction
            FROM (SELECT usage_id::VARCHAR AS usage_id, epoch_us(start_at::TIMESTAMPTZ) AS t_us,
                         TRY_CAST({charge} AS DECIMAL(18, 6)) AS exact
                  FROM _settle_given
                  WHERE $1::TIMESTAMPTZ IS NULL OR start_at::TIMESTAMPTZ <= $1)
            """,
            [until],
        )
    finally:
        con.unregister("_settle_given")
    (missing, fractions) = con.execute(
        "SELECT count(*) FILTER (WHERE missing), count(*) FILTER (WHERE fraction) FROM _settle_input"
    ).fetchall()[0]
    if missing:
        raise InvalidAmount("charge", "every call needs a charge of zero or more, e.g. '0.25'.")
    if fractions:
        raise InvalidAmount("charge", "a charge has more than 2 decimals; rate the calls first.")


# The calls to settle that are already in the ledger (as spend, or drawn + billed in arrears for MCA), with
# their cents. Small (usually empty): only these ids are grouped, never every spend of the ledger.
KNOWN_CALLS = """
CREATE OR REPLACE TEMP TABLE _settle_known AS
SELECT usage_id, sum(cents) AS cents FROM (
    SELECT substr(idempotency_key, 7) AS usage_id, (-amount * 100)::BIGINT AS cents FROM entry WHERE kind = 'spend'
    UNION ALL SELECT usage_id, (amount * 100)::BIGINT FROM usage_in_arrears)
WHERE usage_id IN (SELECT usage_id FROM {source})
GROUP BY usage_id
"""

# The calls to settle, in the order the ledger records them. Call logs arrive after later orders are recorded;
# history is never rewritten, so a call earlier than the last entry ($last) is recorded at that entry's time (the
# earliest instant still open), in call order. `seq` numbers the calls in that order (a chunk is a seq range).
ORDERED_CALLS = """
CREATE OR REPLACE TEMP TABLE _settle_calls AS
SELECT row_number() OVER (ORDER BY greatest(s.t_us, $last), s.usage_id) AS seq,
       s.usage_id, greatest(s.t_us, $last) AS t_us, s.cents, s.t_us < $last AS late
FROM {source} s
WHERE s.cents > 0 AND s.usage_id NOT IN (SELECT usage_id FROM _settle_known)
"""


def _settle_staged(con, ledger: Ledger, source: str, params: dict) -> tuple[SettlementReport, int]:
    """Settle the calls of relation `source` (usage_id, t_us, cents; any order; its query parameters `params`)
    inside the open transaction `con`. Returns the report and how many calls with a charge `source` held (those
    already in the ledger included)."""
    # skip calls already in the ledger; the same id with another amount is a conflict
    con.execute(KNOWN_CALLS.format(source=source), params)
    (conflicts,) = con.execute(
        f"SELECT count(*) FROM {source} c JOIN _settle_known k USING (usage_id) WHERE c.cents > 0 AND k.cents <> c.cents",
        params,
    ).fetchall()[0]
    (last,) = con.execute("SELECT epoch_us(max(occurred_at)) FROM entry").fetchall()[0]
    con.execute(ORDERED_CALLS.format(source=source), {**params, "last": last if last is not None else np.iinfo(np.int64).min})
    con.execute("DROP TABLE IF EXISTS _settle_input")  # its memory is free before the chunks are settled
    exponent = currency_exponent(ledger.currency)
    (count, late, odd, known) = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE late), count(*) FILTER (WHERE cents % $1 <> 0), "
        "(SELECT count(*) FROM _settle_known) FROM _settle_calls",
        [10 ** max(0, 2 - exponent)],
    ).fetchall()[0]
    if odd:
        raise InvalidAmount("charge", f"some charges have more decimals than {ledger.currency} allows; rate them first.")

    lots = _open_lot_state(con)
    next_entry, next_lot = con.execute(
        "SELECT (SELECT COALESCE(max(entry_id), 0) + 1 FROM entry), (SELECT COALESCE(max(lot_id), 0) + 1 FROM lot)"
    ).fetchall()[0]
    mca = current_agreement(con) is Agreement.MCA
    auto = current_auto_recharge(con)
    engine = _Engine(
        lots,
        next_entry,
        0 if mca else next_lot,
        recharge=int(auto.amount * CENT) if auto.enabled and not mca else None,
        trigger=int(auto.below * CENT) if auto.enabled and not mca else None,
    )
    blocked, arrears = [], [0, 0]
    for start in range(0, count, CHUNK):
        if start:
            _commit_chunk(con)
        usage_ids, times, cents = _chunk(con, start, start + CHUNK)
        if mca:
            billed, owed = _arrears_chunk(con, engine, usage_ids, times, cents)
            arrears = [arrears[0] + billed, arrears[1] + owed]
            continue
        engine.run(times, cents)
        _write(con, engine, usage_ids, times, cents)
        if engine.blocked:
            idx = np.concatenate(engine.blocked)
            part = (usage_ids.take(pa.array(idx)), times[idx], cents[idx])
            _insert_stamped(con, "blocked_call", {"usage_id": part[0], "start_at": _ts(part[1]),
                                                  "charge": decimal_array(part[2])},
                            "WHERE usage_id NOT IN (SELECT usage_id FROM blocked_call)")
            blocked.append(part)
        engine.reset_output()
    money = lambda v: quantize(Decimal(int(v)) / CENT, ledger.currency)  # noqa: E731
    common = dict(settled=engine.settled, amount=money(engine.settled_cents), expired_lots=engine.expired,
                  forfeited=money(engine.forfeited_cents), late=int(late), conflicts=int(conflicts))
    if mca:
        return SettlementReport(**common, billed_in_arrears=arrears[0], arrears_amount=money(arrears[1]),
                                blocked_calls=pd.DataFrame({"usage_id": [], "start_at": [], "charge": []})), count + known
    ids = pa.concat_arrays([part[0] for part in blocked]) if blocked else pa.array([], pa.string())
    b_times = np.concatenate([part[1] for part in blocked]) if blocked else np.zeros(0, np.int64)
    b_cents = np.concatenate([part[2] for part in blocked]) if blocked else np.zeros(0, np.int64)
    blocked_calls = pd.DataFrame(
        {
            "usage_id": ids.to_pylist(),
            "start_at": pd.to_datetime(b_times, unit="us", utc=True),
            "charge": [quantize(Decimal(int(c)) / CENT, ledger.currency) for c in b_cents],
        }
    )
    (busiest,) = con.execute("SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM lot WHERE source = "
                             "'auto_recharge' GROUP BY CAST(purchased_at AS DATE))").fetchall()[0]
    return SettlementReport(
        **common,
        max_recharges_per_day=int(busiest),
        recharges=engine.recharges,
        recharged=money(engine.recharges * (engine.recharge or 0)),
        blocked=len(ids),
        blocked_amount=money(b_cents.sum()) if len(ids) else money(0),
        blocked_calls=blocked_calls,
    ), count + known


def _commit_chunk(con) -> None:
    """Commit the chunk just written and carry on in a new transaction (same connection, same lock, the staged
    calls kept): a huge settlement's uncommitted rows would otherwise grow in memory without bound. Each commit
    is a complete settlement of the calls up to its last one; after a crash, settling again carries on from
    there, and no call is charged twice (usage ids)."""
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")


def _chunk(con, start: int, stop: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Calls [start, stop) of _settle_calls in their order: (usage ids, times in µs, cents)."""
    table = con.sql(
        "SELECT seq, usage_id, t_us, cents FROM _settle_calls WHERE seq > $1 AND seq <= $2", params=[start, stop]
    ).to_arrow_table()
    seq = table["seq"].to_numpy()
    if len(seq) > 1 and not np.all(seq[1:] > seq[:-1]):  # a parallel scan hands back row groups in any order
        table = table.take(pa.array(np.argsort(seq, kind="stable")))
    return table["usage_id"].combine_chunks(), table["t_us"].to_numpy(), table["cents"].to_numpy()


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


def _expiry_us(times_us: np.ndarray) -> np.ndarray:
    """`expiry_instant` of each purchase time (µs since the epoch, UTC), vectorised: 12 calendar months later,
    the day clamped to the target month's length, the time of day kept."""
    at = np.asarray(times_us, np.int64).astype("datetime64[us]")
    month = at.astype("datetime64[M]")
    into_month = at - month.astype("datetime64[us]")  # day of month and time of day, as a duration
    target = month + LOT_TERM_MONTHS
    month_length = (target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")
    day = into_month.astype("timedelta64[D]")  # whole days into the month
    clamped = np.minimum(day, month_length - np.timedelta64(1, "D"))
    return (target.astype("datetime64[us]") + clamped + (into_month - day)).astype(np.int64)


class _Engine:
    """FIFO settlement state and the rows it produces (numpy chunks, written and forgotten after each chunk of calls)."""

    def __init__(self, lots: dict, next_entry: int, next_lot: int, *, recharge: int | None, trigger: int | None):
        # the FIFO: lots with money left, in lot id order; lots drawn to zero leave it (else every step would
        # walk thousands of empty lots) but still expire, with a remainder of 0
        self.drained_ids = self.drained_exp = np.zeros(0, np.int64)
        self._set_open(lots["id"], lots["exp"], lots["rem"])
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

    def reset_output(self) -> None:
        """Forget the rows already written (the state carries on to the next chunk of calls)."""
        self.spend_chunks, self.recharge_chunks, self.alloc_chunks, self.expiry_rows, self.blocked = [], [], [], [], []

    @property
    def auto(self) -> bool:
        return self.recharge is not None

    def balance(self) -> int:
        return int(self.rem.sum())

    def _set_open(self, ids: np.ndarray, exp: np.ndarray, rem: np.ndarray) -> None:
        drained = rem == 0
        if drained.any():
            self.drained_ids = np.concatenate((self.drained_ids, ids[drained]))
            self.drained_exp = np.concatenate((self.drained_exp, exp[drained]))
            ids, exp, rem = ids[~drained], exp[~drained], rem[~drained]
        self.ids, self.exp, self.rem = ids, exp, rem

    # -- expiry --

    def expire_due(self, t: int) -> None:
        due = self.exp <= t
        if due.any():
            for lot_id, exp, rem in zip(self.ids[due], self.exp[due], self.rem[due]):
                self.pending.append((int(lot_id), int(exp), int(rem)))
            keep = ~due
            self.ids, self.exp, self.rem = self.ids[keep], self.exp[keep], self.rem[keep]
        self._drained_due(t)

    def _drained_due(self, t: int) -> None:
        due = self.drained_exp <= t
        if due.any():
            self.pending.extend((int(lot_id), int(exp), 0) for lot_id, exp in zip(self.drained_ids[due], self.drained_exp[due]))
            self.drained_ids, self.drained_exp = self.drained_ids[~due], self.drained_exp[~due]

    def _flush_expiries(self) -> None:
        # recorded by the next call that succeeds, oldest lot first (the ledger's DUE_LOTS order)
        for lot_id, exp, rem in sorted(self.pending):
            self.expiry_rows.append((self.next_entry, lot_id, exp, rem))
            self.next_entry += 1
            self.expired += 1
            self.forfeited_cents += rem
        self.pending = []

    def next_expiry(self, *, drained: bool = True) -> int:
        """When the next lot expires (with drained=False: the next lot with money left, the only expiry that
        changes what later calls draw; drained lots expire inside a run of calls, see _commit)."""
        soonest = [int(e.min()) for e in (self.exp, self.drained_exp if drained else ()) if len(e)]
        return min(soonest, default=np.iinfo(np.int64).max)

    # -- running the calls --

    def run(self, times: np.ndarray, cents: np.ndarray) -> None:
        pos, n, width = 0, len(times), MIN_BATCH
        while pos < n:
            self.expire_due(int(times[pos]))
            end = int(np.searchsorted(times, self.next_expiry(drained=False), side="left"))
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
                end = min(end, int(np.searchsorted(times, self.next_expiry(drained=False), side="left")))

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
            lot_exp = _expiry_us(times[start + at])
            cut = int(np.searchsorted(times[start : start + m], lot_exp.min(), side="left"))
            if cut < m:
                m, stop = cut, "lots"
                keep = at < m
                recharged = recharged[:m]
                lot_exp = lot_exp[keep]
        if m == 0:
            return 0, stop
        self._commit(np.arange(start, start + m), times[start : start + m], c[:m], np.zeros(m, bool), recharged[:m], lot_exp)
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
        lot_exp = _expiry_us(np.array(lot_times, np.int64)) if lot_times else None
        self._commit(np.array([k]), times[k : k + 1], np.array([c]), np.array([before]), np.array([after]), lot_exp)
        return k + 1

    def _commit(self, call_idx, call_times, c, before, after, lot_exp) -> None:
        """Record spends for `call_idx` (at `call_times`, charges `c`), with a recharge lot before/after where
        flagged, and the expiries of drained lots falling due among these calls."""
        self._drained_due(int(call_times[0]))  # due by the first call: with the other due lots, oldest first
        self._flush_expiries()
        m = len(call_idx)
        before = before.astype(np.int64)
        after = after.astype(np.int64)
        # a drained lot due later in this run expires just before the first call at or after its expiry (it
        # draws nothing, so the closed form holds across it); several before one call: oldest lot first
        due_at = np.searchsorted(call_times, self.drained_exp, side="left")
        due = due_at < m
        x_call, x_lot, x_exp = due_at[due], self.drained_ids[due], self.drained_exp[due]
        order = np.lexsort((x_lot, x_call))
        x_call, x_lot, x_exp = x_call[order], x_lot[order], x_exp[order]
        x_count = np.bincount(x_call, minlength=m)
        per_call = x_count + before + 1 + after
        first_entry = self.next_entry + np.concatenate(([0], np.cumsum(per_call)[:-1]))
        x_entry = first_entry[x_call] + np.arange(len(x_call)) - np.searchsorted(x_call, x_call, side="left")
        self.expiry_rows.extend(zip(x_entry.tolist(), x_lot.tolist(), x_exp.tolist(), [0] * len(x_lot)))
        self.expired += len(x_lot)
        self.drained_ids, self.drained_exp = self.drained_ids[~due], self.drained_exp[~due]
        call_entry = first_entry + x_count  # the call's own entries follow its expiries
        spend_entry = call_entry + before
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
            entry = np.concatenate((call_entry[has_before], spend_entry[has_after] + 1))
            calls = np.concatenate((call_idx[has_before], call_idx[has_after]))
            flag = np.concatenate((np.ones(len(has_before), bool), np.zeros(len(has_after), bool)))
            order = np.argsort(lot_no, kind="stable")
            self.recharge_chunks.append(
                (calls[order], new_ids[lot_no[order]], entry[order], flag[order], lot_exp)
            )
        # new state
        total = int(spent[-1])
        remaining = np.clip(hi - np.maximum(lo, total), 0, None)
        self._set_open(ids, np.concatenate((self.exp, lot_exp if made else np.zeros(0, np.int64))), remaining)
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


def _repeat(text: str, n: int) -> pa.Array:
    """`text` n times as an Arrow string array (built in C: a Python list of a million strings takes seconds)."""
    return pa.repeat(pa.scalar(text, pa.string()), n)


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
            "source": _repeat("auto_recharge", len(r_lot)),
            "order_id": r_key,
        }
    )
    x_entry = np.array([r[0] for r in e_rows], np.int64)
    x_lot = np.array([r[1] for r in e_rows], np.int64)
    x_time = np.array([r[2] for r in e_rows], np.int64)
    x_rem = np.array([r[3] for r in e_rows], np.int64)
    spend_ids = usage_ids.take(pa.array(spend_call, pa.int64()))
    spend_entries = pa.table(
        {
            "entry_id": pa.array(spend_entry, pa.int64()),
            "occurred_at": _ts(times[spend_call]),
            "kind": _repeat("spend", len(spend_entry)),
            "amount": decimal_array(-cents[spend_call]),
            "idempotency_key": pc.binary_join_element_wise("usage:", spend_ids, ""),
            "lot_id": pa.nulls(len(spend_entry), pa.int64()),
        }
    )
    other_entries = pa.concat_tables(
        [
            pa.table(
                {
                    "entry_id": pa.array(r_entry, pa.int64()),
                    "occurred_at": r_time,
                    "kind": _repeat("recharge", len(r_entry)),
                    "amount": r_amount,
                    "idempotency_key": r_key,
                    "lot_id": pa.array(r_lot, pa.int64()),
                }
            ),
            pa.table(
                {
                    "entry_id": pa.array(x_entry, pa.int64()),
                    "occurred_at": _ts(x_time),
                    "kind": _repeat("expiry", len(x_entry)),
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
            "reason": _repeat("auto_recharge", len(r_lot)),
        }
    )
    # rows go in sorted here (Arrow), not by an ORDER BY in the INSERT: DuckDB keeps an Arrow scan's order. The
    # spends (in call order already) go in apart from the few recharges and expiries among them: merging them
    # would copy every spend's key once more for no reader's benefit (the journal is read by entry_id)
    for name, table, sql in (
        ("_s_lot", _sorted(lots, "lot_id"), "INSERT INTO lot SELECT * FROM _s_lot"),
        ("_s_entry", _sorted(spend_entries, "entry_id"), "INSERT INTO entry SELECT *, $1 FROM _s_entry"),
        ("_s_entry", _sorted(other_entries, "entry_id"), "INSERT INTO entry SELECT *, $1 FROM _s_entry"),
        ("_s_alloc", _sorted(allocations, "entry_id", "lot_id"), "INSERT INTO allocation SELECT * FROM _s_alloc"),
        ("_s_invoice", _sorted(invoices, "lot_id"), "INSERT INTO invoice SELECT * FROM _s_invoice"),
    ):
        if len(table) == 0:
            continue
        con.register(name, table)
        try:
            con.execute(sql, [now.as_py()] if "$1" in sql else []).fetchall()
        finally:
            con.unregister(name)


def _sorted(table: pa.Table, *keys: str) -> pa.Table:
    """`table` in `keys` order (numpy lexsort; the rows come mostly sorted, and a stable sort keeps ties)."""
    if len(table) < 2:
        return table
    columns = [table[k].to_numpy() for k in reversed(keys)]
    if len(keys) == 1 and np.all(columns[0][1:] >= columns[0][:-1]):  # the usual case: already in order
        return table
    order = np.lexsort(columns)
    if np.array_equal(order, np.arange(len(order))):
        return table
    return table.take(pa.array(order))


def _arrears_chunk(con, engine: _Engine, usage_ids, times, cents) -> tuple[int, int]:
    """MCA, one chunk of calls: the remaining lots pay first (FIFO, expiring as before, no recharge), the rest
    is billed in arrears; every call succeeds, so each lot due by a call is recorded by the first call reaching
    it. One vectorised step per stretch between lot expiries. Returns (calls billed in arrears, their cents)."""
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
            engine._commit(np.arange(pos, pos + m), times[pos : pos + m], part[:m], np.zeros(m, bool), np.zeros(m, bool), None)
        pos = end
    _write(con, engine, usage_ids, times, drawn)
    engine.reset_output()
    owed = cents - drawn
    billed = np.flatnonzero(owed > 0)
    if len(billed):
        _insert_stamped(con, "usage_in_arrears",
                        {"usage_id": usage_ids.take(pa.array(billed)), "occurred_at": _ts(times[billed]),
                         "amount": decimal_array(owed[billed])},
                        "ORDER BY occurred_at, usage_id")
    return len(billed), int(owed[billed].sum())
