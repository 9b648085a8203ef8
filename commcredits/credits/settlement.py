"""Settle charged calls into the ledger set-based: the same rows `Ledger.spend` would write call by call.

The FIFO machinery is settlement_engine (pure numpy) and settlement_rows writes its rows; this module reads
what to settle, runs the engine chunk by chunk in one transaction per chunk, and reports.

Rules kept from the per-call reference (`Ledger.spend`), which the property test checks row by row:
- calls are taken in (start time, usage id) order; ids of entries and lots follow that order;
- before each call, lots with expires_at <= call time expire (oldest lot id first), recorded at the lot's own
  expires_at with the remainder (0 included) as part of the next call that succeeds; a call that fails
  records nothing, so expiries due only by a failed last call stay unrecorded, as in the reference;
- a call the balance cannot cover, even after one recharge, is blocked: nothing is recorded, it stays
  unsettled and is listed in the report;
- each call is paid by the agreement and auto-recharge setting in force at its time; while the tenant is on MCA
  nothing is blocked or recharged: the lots pay what they can, the rest is billed in arrears (usage_in_arrears);
- calls earlier than the ledger's last entry ("late": their log arrived after later entries) are taken at their
  own time by settlement_late, which appends adjusting entries (and arrears differences) where that changes
  what was recorded; the ledger never rewrites history;
- calls already in the ledger are skipped (a different amount for the same usage id counts as a conflict).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import InvalidAmount, InvalidTime
from ..money import currency_exponent, quantize
from ..store import named_sql
from .ledger import Agreement, Ledger, agreement_timeline, auto_recharge_timeline
from .settlement_engine import Engine
from .settlement_late import resettle
from .settlement_rows import decimal_array, insert_stamped, timestamps, write_chunk

CENT = 100  # the ledger stores DECIMAL(18, 2): amounts here are integer hundredths
CHUNK = 1 << 20  # calls settled and written per step: bounds memory, not the result
EARLIEST, LATEST = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)  # µs bounds of any call time
MEMORY_LIMIT = "1GB"  # DuckDB's share while settling a ledger file (sorting and staging spill beyond it)
SQL = named_sql("settlement_queries")
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)  # before any call: read every one


@dataclass(frozen=True)
class SettlementReport:
    """What a settlement did. `blocked_calls` lists the calls the balance could not cover."""

    settled: int = 0
    amount: Decimal = Decimal(0)
    recharges: int = 0
    recharged: Decimal = Decimal(0)
    expired_lots: int = 0
    forfeited: Decimal = Decimal(0)  # with late calls: the change in what expiries forfeit (less: negative)
    blocked: int = 0
    blocked_amount: Decimal = Decimal(0)
    late: int = 0  # earlier than the ledger's last entry: taken at their own time with adjusting entries
    conflicts: int = 0  # usage id already settled with another amount: not settled again
    billed_in_arrears: int = 0  # MCA tenants: calls (or the part of a call) the remaining lots could not pay
    arrears_amount: Decimal = Decimal(0)  # with late calls: the calls whose arrears changed, and the change
    max_recharges_per_day: int = 0  # most auto-recharges on one UTC day so far: more than 3 means too frequent
    blocked_calls: pd.DataFrame = field(default=None, repr=False, compare=False)
    by_status: dict = field(default_factory=dict)  # imported calls per call_charges status, after settling


CALL_STATUSES = ("settled", "free", "operator", "other_currency", "blocked", "estimate", "pending")


# ---- reading what to settle ------------------------------------------------------------------------------


def settle(ledger: Ledger, *, until: datetime | None = None, calls=None) -> SettlementReport:
    """Settle what Microsoft charged for every imported, unsettled call (up to `until`), in call order; one
    transaction for up to CHUNK calls, one per CHUNK calls beyond (see _commit_chunk).

    A call draws exactly its reported `charge` rounded half-up to the minor unit; calls another operator
    bills, calls without a charge (estimates only) and calls in another currency than the ledger's are
    never settled (`call_charges` says why for each). `calls` (optional): a DataFrame with usage_id,
    start_at, charge to settle instead (what-if replays use it). Raises InvalidAmount when a given charge
    has more decimals than the currency allows.

    The calls are staged once, then put in order in DuckDB one span of about CHUNK calls at a time (_Runs), each
    settled and written before the next: memory stays bounded whatever the number of calls."""
    with ledger.store.transaction() as con:
        if not ledger.store.is_memory:  # this connection's own instance: past the cap DuckDB spills to disk
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        if calls is None:  # the calls imported since the mark and the blocked ones, read once
            (since,) = con.execute(SQL["since"]).fetchall()[0]
            con.execute(
                SQL["calls_to_settle"],
                {
                    "currency": ledger.currency,
                    "digits": currency_exponent(ledger.currency),
                    "until": until,
                    "since": since,
                },
            )
        else:
            _stage_given(con, calls, until)
        report = _settle_staged(con, ledger, given=calls is not None)
        if calls is not None:  # their times need not be the imported calls': later duplicate checks read them apart
            con.execute("INSERT INTO spend_outside_log SELECT usage_id FROM _settle_new")
        con.execute("DROP VIEW IF EXISTS _settle_new")
        for name in ("_settle_input", "_settle_known", "_settle_calls", "_settle_late"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        if calls is None:  # late calls too: the replay reconsiders every blocked call and reports it
            counts = _status_counts(con, report, until)
            con.execute(SQL["set_mark"], [until, since if until is None else BEGINNING])
            _advance_tally(con)  # the tally counts what rows decide: `until` changes none of it
        else:  # the given calls need not be imported ones: ask the view
            counts = dict(con.execute("SELECT status, count(*) FROM call_charges GROUP BY status").fetchall())
        return replace(report, by_status={s: int(counts.get(s, 0)) for s in CALL_STATUSES})


def _status_counts(con, report: SettlementReport, until: datetime | None) -> dict:
    """Every imported call by status after settling them (the statuses of view call_charges): nothing unpaid in
    silence. What Microsoft's row decides is counted from the rows alone; every other call up to `until` (charged,
    in the ledger's currency) is now settled or blocked, and this settlement reported every blocked one (it
    reconsiders them each time). Only the charged calls after `until` need their spend entries looked up:
    joining every call with its entry costs more than the settlement itself on a big ledger."""
    counts, charged = {}, 0
    through = _tally_through(con) if until is None else BEGINNING
    for status, n in con.execute(SQL["row_status_counts"], [until, through]).fetchall():
        if status is None:
            charged = n
        else:
            counts[status] = n
    counts["settled"], counts["blocked"] = charged - report.blocked, report.blocked
    if until is not None:
        for status, n in con.execute(SQL["status_after_until"], [until]).fetchall():
            counts[status] = counts.get(status, 0) + n
    return counts


def _tally_through(con) -> datetime:
    """How far call_status_tally counted (the beginning when it is empty)."""
    (through,) = con.execute("SELECT max(through) FROM call_status_tally").fetchall()[0]
    return through or BEGINNING


def _advance_tally(con) -> None:
    """Move call_status_tally on to as far as the next settlement will read (settle_mark less an hour)."""
    old = _tally_through(con)
    (new,) = con.execute(SQL["since"]).fetchall()[0]
    if new <= old:
        return
    con.execute(SQL["advance_tally"], [old, new])
    con.execute("DELETE FROM call_status_tally")
    con.execute("INSERT INTO call_status_tally SELECT * FROM _tally")
    con.execute("DROP TABLE _tally")


def _stage_given(con, calls, until) -> None:
    """Calls given as a DataFrame or Arrow table (usage_id, start_at, charge) into _settle_input
    (usage_id, t_us, cents), refusing negative, missing or sub-cent charges."""
    table = calls if isinstance(calls, pa.Table) else pa.Table.from_pandas(pd.DataFrame(calls), preserve_index=False)
    table = table.select(["usage_id", "start_at", "charge"])
    # exact decimals cast directly; anything else (text, floats) through its text, as written
    charge = "charge" if pa.types.is_decimal(table.schema.field("charge").type) else "charge::VARCHAR"
    con.register("_settle_given", table)
    try:
        con.execute(SQL["stage_given"].format(charge=charge), [until])
    finally:
        con.unregister("_settle_given")
    (missing, fractions, no_time) = con.execute(
        "SELECT count(*) FILTER (WHERE missing), count(*) FILTER (WHERE fraction), count(*) FILTER (WHERE no_time)"
        " FROM _settle_input"
    ).fetchall()[0]
    if no_time:  # it could be settled at no time at all: refused, nothing recorded
        raise InvalidTime(
            "start_at", f"{no_time} call(s) have no start time; every call needs one, e.g. 2026-12-01 09:30 UTC."
        )
    if missing:
        raise InvalidAmount("charge", "every call needs a charge of zero or more, e.g. '0.25'.")
    if fractions:
        raise InvalidAmount("charge", "a charge has more than 2 decimals; rate the calls first.")


def _find_new_calls(con, ledger: Ledger, given: bool) -> dict:
    """Which calls of _settle_input are new to the ledger (temp view _settle_new). Returns the counts of late calls
    and of conflicts, and `last`, the latest instant (µs) the ledger recorded."""
    # skip calls already in the ledger; the same id with another amount is a conflict
    (start,) = con.execute(SQL["known_from"], {"given": given}).fetchall()[0]
    con.execute(SQL["known_calls"], {"from": start})
    (conflicts,) = con.execute(SQL["conflicts"]).fetchall()[0]
    (last,) = con.execute(SQL["last_recorded"]).fetchall()[0]
    last = EARLIEST if last is None else int(last)
    con.execute(SQL["new_calls"])
    exponent = currency_exponent(ledger.currency)
    (late, odd) = con.execute(SQL["new_call_counts"], {"last": last, "unit": 10 ** max(0, 2 - exponent)}).fetchall()[0]
    if odd:
        raise InvalidAmount(
            "charge", f"some charges have more decimals than {ledger.currency} allows; rate them first."
        )
    return {"late": late, "conflicts": conflicts, "last": last}


def _time_buckets(con) -> list[tuple[int, int]]:
    """[lo, hi) ranges of call times (µs) that cover every staged call: equal spans of time, one per CHUNK calls.
    Calls spread over months fill them about evenly; a burst in one span only makes that span's sort bigger (it
    spills to disk like one sort of everything would), never the order wrong."""
    (staged,) = con.execute("SELECT count(*) FROM _settle_input").fetchall()[0]
    runs = -(-staged // CHUNK)
    if runs <= 1:
        return [(EARLIEST, LATEST)]
    first, last = con.execute(SQL["time_span"]).fetchall()[0]
    cuts = sorted({first + (last - first) * k // runs for k in range(1, runs)})
    edges = [EARLIEST, *cuts, LATEST]
    return list(zip(edges, edges[1:]))


class _Runs:
    """The spans of call times that cover the calls to settle (_time_buckets), each put in order into
    _settle_calls when its turn comes. Only one run is in _settle_calls at a time, so it and the staged calls fit in
    memory together (all runs at once made DuckDB spill 10M calls to disk: their sorts took 0.2 s more)."""

    def __init__(self, con):
        self.con, self.spans = con, list(reversed(_time_buckets(con)))

    def more(self) -> bool:
        return bool(self.spans)

    def order_next(self) -> int:
        """Put the next span with calls in it in order into _settle_calls; how many calls (0: none left)."""
        while self.spans:
            lo, hi = self.spans.pop()
            self.con.execute(SQL["ordered_run"], {"lo": lo, "hi": hi})
            (n,) = self.con.execute("SELECT count(*) FROM _settle_calls").fetchall()[0]
            if n:
                return n
        return 0


def _new_engine(con, lots: dict | None = None, next_lot: int | None = None) -> Engine:
    """The engine over the ledger's open lots (or `lots`), numbering entries and lots after the last ones, with
    the agreement and auto-recharge timelines."""
    if lots is None:
        rows = con.execute(SQL["open_lots"], [con.execute("SELECT rollup_mark_now()").fetchall()[0][0]]).fetchall()
        lots = {key: np.array([r[i] for r in rows], np.int64) for i, key in enumerate(("id", "exp", "rem"))}
    next_entry, last_lot = con.execute(
        "SELECT coalesce(last_entry_id(), 0) + 1, (SELECT COALESCE(max(lot_id), 0) + 1 FROM lot)"
    ).fetchall()[0]
    mca = [(epoch_us(at), agreement is Agreement.MCA) for at, agreement in agreement_timeline(con)]
    return Engine(lots, next_entry, next_lot or last_lot, auto=_auto_timeline(con), mca=mca)


def epoch_us(at: datetime) -> int:
    return (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _auto_timeline(con) -> list[tuple[int, int | None, int | None]]:
    """The auto-recharge settings as the engine takes them: (from µs, recharge cents, trigger cents)."""
    return [
        (epoch_us(at), int(auto.amount * CENT), int(auto.below * CENT)) if auto.enabled else (epoch_us(at), None, None)
        for at, auto in auto_recharge_timeline(con)
    ]


def _settle_late(con, ledger: Ledger, counts: dict) -> SettlementReport:
    """Some calls are older than the ledger's last entry: take every call at its own time (settlement_late)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _settle_late AS SELECT *, t_us < $1 AS late FROM _settle_new", [counts["last"]]
    )
    (t0,) = con.execute("SELECT min(t_us) FROM _settle_late").fetchall()[0]
    done = resettle(con, lambda lots, next_lot: _new_engine(con, lots, next_lot), int(t0))
    con.execute("DROP TABLE IF EXISTS _settle_late")
    money = lambda v: quantize(Decimal(int(v)) / CENT, ledger.currency)  # noqa: E731
    blocked = _blocked_frame([done["blocked"]], ledger.currency)
    (busiest,) = con.execute(SQL["busiest_recharge_day"]).fetchall()[0]
    return SettlementReport(
        settled=done["settled"],
        amount=money(done["settled_cents"]),
        recharges=done["recharges"],
        recharged=money(done["recharged_cents"]),
        expired_lots=done["expired_lots"],
        forfeited=money(done["forfeited"]),
        blocked=len(blocked),
        blocked_amount=money(int(np.sum(done["blocked"][2]))),
        billed_in_arrears=done["billed_in_arrears"],
        arrears_amount=money(done["arrears_cents"]),
        late=int(counts["late"]),
        conflicts=int(counts["conflicts"]),
        max_recharges_per_day=int(busiest),
        blocked_calls=blocked,
    )


def _settle_staged(con, ledger: Ledger, given: bool) -> SettlementReport:
    """Settle the calls of _settle_input (usage_id, t_us, cents; any order; `given`: not the imported calls)
    inside the open transaction `con`."""
    counts = _find_new_calls(con, ledger, given)
    if counts["late"]:
        return _settle_late(con, ledger, counts)
    engine = _new_engine(con)
    blocked, arrears = [], [0, 0]
    runs = _Runs(con)
    next_run = runs.order_next()
    with ThreadPoolExecutor(max_workers=1) as engine_thread:
        while next_run:
            run, next_run = next_run, 0
            # committed, the run's rows get their final rowids (0..n-1, in call order): each chunk reads its own rows
            # (by OFFSET, a chunk at 10M calls skipped every row before); the commit also ends the chunk before
            _commit_chunk(con)
            for start in range(0, run, CHUNK):
                if start:  # a run bigger than a chunk (a burst of calls): commit the chunk before
                    _commit_chunk(con)
                usage_ids, times, cents = _chunk(con, start, CHUNK)
                # each call with the agreement and auto-recharge setting of its time; the last chunk of a run is
                # settled on one core (numpy) while DuckDB sorts the next run on the other (this chunk is read:
                # _settle_calls is free). A lone run stays on this thread: a new thread's first arrays cost more.
                if start + CHUNK >= run and runs.more():
                    settling = engine_thread.submit(engine.run, times, cents)
                    next_run = runs.order_next()
                    settling.result()
                else:
                    engine.run(times, cents)
                write_chunk(con, engine, usage_ids, times)
                owed = engine.arrears()[1]
                arrears = [arrears[0] + len(owed), arrears[1] + int(owed.sum())]
                if engine.blocked:
                    blocked.append(_record_blocked(con, engine, usage_ids, times, cents))
                engine.reset_output()
    money = lambda v: quantize(Decimal(int(v)) / CENT, ledger.currency)  # noqa: E731
    blocked_calls = _blocked_frame(blocked, ledger.currency)
    (busiest,) = con.execute(SQL["busiest_recharge_day"]).fetchall()[0]
    return SettlementReport(
        settled=engine.settled,
        amount=money(engine.settled_cents),
        recharges=engine.recharges,
        recharged=money(engine.recharged_cents),
        expired_lots=engine.expired,
        forfeited=money(engine.forfeited_cents),
        blocked=len(blocked_calls),
        blocked_amount=money(sum(int(p[2].sum()) for p in blocked)),
        late=int(counts["late"]),
        conflicts=int(counts["conflicts"]),
        billed_in_arrears=arrears[0],
        arrears_amount=money(arrears[1]),
        max_recharges_per_day=int(busiest),
        blocked_calls=blocked_calls,
    )


def _record_blocked(con, engine: Engine, usage_ids, times, cents) -> tuple:
    """Note the chunk's blocked calls in blocked_call (once each); returns them as (ids, times, cents)."""
    idx = np.concatenate(engine.blocked)
    part = (usage_ids.take(pa.array(idx)), times[idx], cents[idx])
    insert_stamped(
        con,
        "blocked_call",
        {"usage_id": part[0], "start_at": timestamps(part[1]), "charge": decimal_array(part[2])},
        "WHERE usage_id NOT IN (SELECT usage_id FROM blocked_call)",
    )
    return part


def _blocked_frame(blocked: list[tuple], currency: str) -> pd.DataFrame:
    """The blocked calls of every chunk as the report's DataFrame (usage_id, start_at, charge)."""
    ids = pa.concat_arrays([part[0] for part in blocked]) if blocked else pa.array([], pa.string())
    b_times = np.concatenate([part[1] for part in blocked]) if blocked else np.zeros(0, np.int64)
    b_cents = np.concatenate([part[2] for part in blocked]) if blocked else np.zeros(0, np.int64)
    return pd.DataFrame(
        {
            "usage_id": ids.to_pylist(),
            "start_at": pd.to_datetime(b_times, unit="us", utc=True),
            "charge": [quantize(Decimal(int(c)) / CENT, currency) for c in b_cents],
        }
    )


def _commit_chunk(con) -> None:
    """Commit the chunk just written and carry on in a new transaction (same connection, same lock, the staged
    calls kept): a huge settlement's uncommitted rows would otherwise grow in memory without bound. Each commit
    is a complete settlement of the calls up to its last one; after a crash, settling again carries on from
    there, and no call is charged twice (usage ids)."""
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")


def _chunk(con, start: int, size: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """`size` calls of _settle_calls from position `start`, in their order: (usage ids, times in µs, cents). The
    table was written in call order and committed (_settle_staged), so its rowids number the calls in that order
    (before a commit, DuckDB gives a transaction's new rows provisional rowids), and a plain scan keeps it."""
    table = con.sql(
        "SELECT usage_id, t_us, cents FROM _settle_calls WHERE rowid >= $1 AND rowid < $2",
        params=[start, start + size],
    ).to_arrow_table()
    return table["usage_id"].combine_chunks(), table["t_us"].to_numpy(), table["cents"].to_numpy()
