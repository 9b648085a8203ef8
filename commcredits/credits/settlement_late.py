"""Late calls: each call is paid at its own time, whenever its log arrives, and what that changes is corrected by
new (adjusting) entries, never by edits.

Microsoft spends credits oldest first at the time of use (docs/billing.md). When a call older than what the
ledger already recorded arrives, the ledger from the earliest such call (t0) on is worked out again, exactly as
if every call and order had arrived in time order: the lots alive at t0 with what they held then, then every
order, call (the ones recorded, the ones blocked, the new ones) and expiry from t0 on, by the same engine as
any settlement, each call judged with the auto-recharge setting in force at its time. That outcome is compared with what is recorded, per entry and lot; each difference becomes one
entry appended now (`recorded_at`), at the time it is about (`occurred_at`):
- a call, recharge or expiry not recorded yet: its ordinary entry (a recharge also gets its lot and invoice);
- one recorded differently (an expiry forfeits less, a later call draws from another lot, a recharge no
  longer happens, a call the balance can no longer pay): an adjusting entry of the same kind, `adjusts`
  naming the key it corrects, with the difference as amount and allocations.
So `balance(at)` sums to what it would be had every log come on time, and what the ledger said before stays
readable from entries recorded by then (`Ledger.balance(at, known_at=...)`).

While the tenant was on MCA (at the call's time) the replay bills in arrears what the lots could not pay; each
call's difference from what usage_in_arrears holds is one more row there (negative when a call now draws more
from the lots), so the rows of a call always sum to what it is billed in arrears.

The work grows with what happened since t0 (calls, lots alive then), not with the whole ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from ..store import named_sql
from .settlement_engine import Engine
from .settlement_rows import decimal_array, timestamps

SQL = named_sql("settlement_late")
REFERENCE = pa.schema(
    [
        ("key", pa.string()),
        ("kind", pa.string()),
        ("occurred_us", pa.int64()),
        ("lot_ref", pa.int64()),
        ("cents", pa.int64()),
        ("usage_id", pa.string()),
    ]
)


def resettle(con, engine_for, t0: int) -> dict:
    """Work the ledger out again from `t0` (µs) with the calls of _settle_late (usage_id, t_us, cents) added,
    and append the differences. `engine_for(lots)` builds the engine over the lots alive at t0. Returns counts
    (settled, settled_cents, recharges, recharged_cents, expired_lots, forfeited cents) and the blocked calls as (usage ids, times,
    cents) for the report."""
    rows = _lots_alive_at(con, t0)
    lots = {key: np.array([r[i] for r in rows], np.int64) for i, key in enumerate(("id", "exp", "rem"))}
    (next_lot,) = con.execute("SELECT COALESCE(max(lot_id), 0) + 1 FROM lot").fetchall()[0]
    engine = engine_for(lots, next_lot)
    calls = con.sql(SQL["calls_from"], params=[t0]).to_arrow_table()
    usage_ids = calls["usage_id"].combine_chunks()
    times, cents = calls["t_us"].to_numpy(), calls["cents"].to_numpy()
    _replay(con, engine, times, cents, t0)
    reference = _reference_rows(engine, usage_ids, times, next_lot)
    blocked = usage_ids.take(pa.array(np.concatenate(engine.blocked))) if engine.blocked else pa.array([], pa.string())
    blocked_times = times[np.concatenate(engine.blocked)] if engine.blocked else np.zeros(0, np.int64)
    blocked_cents = cents[np.concatenate(engine.blocked)] if engine.blocked else np.zeros(0, np.int64)
    counts = _append_differences(con, reference, t0)
    counts |= _append_arrears_differences(con, engine, usage_ids, times, t0)
    _note_blocked(con, blocked, blocked_times, blocked_cents)
    return {**counts, "blocked": (blocked, blocked_times, blocked_cents)}


def _lots_alive_at(con, t0: int) -> list[tuple]:
    """(lot id, expires µs, cents held) of the lots alive at t0, oldest purchase first; read from the rollups and
    the entries near t0, not from the whole journal."""
    (mark,) = con.execute("SELECT rollup_mark_now()").fetchall()[0]
    con.execute(SQL["lot_state"], [t0, mark])
    earliest, first_entry = con.execute(SQL["alive_bounds"], [t0]).fetchall()[0]
    if earliest is None:  # no lot bought before t0
        con.execute("DROP TABLE _late_lot_state")
        return []
    rows = con.execute(SQL["lots_alive_at"], [t0, earliest, first_entry or 0]).fetchall()
    con.execute("DROP TABLE _late_lot_state")
    return rows


def _replay(con, engine: Engine, times: np.ndarray, cents: np.ndarray, t0: int) -> None:
    """Orders and calls from t0 on in time order (an order first when both happen at one instant), then the
    expiries due by the ledger's last entry."""
    orders = con.execute(SQL["orders_from"], [t0]).fetchall()
    pos = 0
    for lot_id, at, expires, amount in orders:
        stop = int(np.searchsorted(times, at, side="left"))
        if stop > pos:
            engine.run(times, cents, pos, stop)
        engine.buy(lot_id, at, expires, amount)
        pos = stop
    if pos < len(times):
        engine.run(times, cents, pos, len(times))
    (last,) = con.execute("SELECT epoch_us(max(occurred_at)) FROM entry").fetchall()[0]
    engine.close(max(int(last or 0), int(times[-1]) if len(times) else 0))


def _reference_rows(engine: Engine, usage_ids: pa.Array, times, next_lot: int) -> dict:
    """What the ledger holds from t0 on had everything come in time order: one row per (entry key, lot) with
    the cents moved, the entry's kind and time, and its call (spends) or new recharge lot (placeholder id)."""
    spend_call, spend_entry, _ = engine.spends()
    a_entry, a_lot, a_cents = engine.allocations()
    call_of = dict(zip(spend_entry.tolist(), spend_call.tolist()))
    idx = np.array([call_of[e] for e in a_entry.tolist()], np.int64)
    ids = usage_ids.take(pa.array(idx, pa.int64()))
    parts = [
        pa.table(
            {
                "key": pa.array(["usage:" + u for u in ids.to_pylist()], pa.string()),
                "kind": pa.array(["spend"] * len(idx), pa.string()),
                "occurred_us": times[idx],
                "lot_ref": a_lot,
                "cents": a_cents,
                "usage_id": ids,
            }
        )
    ]
    r_call, r_lot, _, r_before, r_exp = engine.recharge_rows()
    r_ids = usage_ids.take(pa.array(r_call, pa.int64())).to_pylist()
    keys = [("recharge:before:" if b else "recharge:after:") + u for b, u in zip(r_before.tolist(), r_ids)]
    parts.append(
        pa.table(
            {
                "key": pa.array(keys, pa.string()),
                "kind": pa.array(["recharge"] * len(keys), pa.string()),
                "occurred_us": times[r_call],
                "lot_ref": r_lot,
                "cents": engine.recharge_cents(),
                "usage_id": pa.nulls(len(keys), pa.string()),
            }
        )
    )
    x = engine.expiry_rows
    parts.append(
        pa.table(
            {
                "key": pa.array([f"expiry:{r[1]}" for r in x], pa.string()),
                "kind": pa.array(["expiry"] * len(x), pa.string()),
                "occurred_us": np.array([r[2] for r in x], np.int64),
                "lot_ref": np.array([r[1] for r in x], np.int64),
                "cents": -np.array([r[3] for r in x], np.int64),
                "usage_id": pa.nulls(len(x), pa.string()),
            }
        )
    )
    table = pa.concat_tables([p.cast(REFERENCE) for p in parts])
    made = pa.table(
        {
            "lot_ref": r_lot,
            "key": pa.array(keys, pa.string()),
            "purchased_us": times[r_call],
            "expires_us": r_exp,
            "cents": engine.recharge_cents(),
        }
    )
    return {"rows": table, "made": made, "next_lot": next_lot}


def _append_differences(con, reference: dict, t0: int) -> dict:
    """Append the entries (and new recharge lots) that take the recorded ledger from t0 on to `reference`."""
    con.register("_late_reference", reference["rows"])
    con.register("_late_made", reference["made"])
    try:
        con.execute(SQL["map_new_lots"], [reference["next_lot"]])
        con.execute(SQL["differences"], [t0])
        now = datetime.now(UTC)
        con.execute(SQL["plan_entries"])
        for name in ("insert_lots", "insert_invoices", "insert_entries", "insert_allocations"):
            con.execute(SQL[name], [now]).fetchall()
        (settled, amount, recharges, recharged, expired, forfeited) = con.execute(SQL["difference_counts"]).fetchall()[
            0
        ]
    finally:
        con.unregister("_late_reference")
        con.unregister("_late_made")
        for name in ("_late_lots", "_late_diff", "_late_entries"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return {
        "settled": int(settled),
        "settled_cents": int(amount or 0),
        "recharges": int(recharges),
        "recharged_cents": int(recharged or 0),
        "expired_lots": int(expired),
        "forfeited": int(forfeited or 0),
    }


def _append_arrears_differences(con, engine: Engine, usage_ids: pa.Array, times: np.ndarray, t0: int) -> dict:
    """MCA: append to usage_in_arrears, per call from t0 on, what the replay bills in arrears less what is recorded.
    Returns how many calls' arrears changed and the change in what is billed in arrears (cents)."""
    owed_call, owed_cents = engine.arrears()
    con.register(
        "_late_arrears",
        pa.table(
            {
                "usage_id": usage_ids.take(pa.array(owed_call, pa.int64())),
                "occurred_us": times[owed_call],
                "cents": owed_cents,
            }
        ),
    )
    try:
        con.execute(SQL["arrears_differences"], [t0])
        con.execute(SQL["insert_arrears_differences"], [datetime.now(UTC)]).fetchall()
        (calls, changed) = con.execute(SQL["arrears_counts"]).fetchall()[0]
    finally:
        con.unregister("_late_arrears")
        con.execute("DROP TABLE IF EXISTS _late_arrears_diff")
    return {"billed_in_arrears": int(calls), "arrears_cents": int(changed)}


def _note_blocked(con, ids: pa.Array, times: np.ndarray, cents: np.ndarray) -> None:
    """Calls the balance could not pay at their time: listed in blocked_call once each."""
    if len(ids) == 0:
        return
    con.register(
        "_late_blocked", pa.table({"usage_id": ids, "start_at": timestamps(times), "charge": decimal_array(cents)})
    )
    try:
        con.execute(
            "INSERT INTO blocked_call SELECT *, $1 FROM _late_blocked "
            "WHERE usage_id NOT IN (SELECT usage_id FROM blocked_call)",
            [datetime.now(UTC)],
        )
    finally:
        con.unregister("_late_blocked")
