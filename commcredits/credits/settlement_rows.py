"""Writing what the settlement engine produced: its numpy rows as Arrow tables appended to the ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .rules import invoice_number
from .settlement_engine import Engine


def insert_stamped(con, table: str, columns: dict, tail: str = "") -> None:
    """Append Arrow `columns` to `table` by name, with the wall-clock time as recorded_at (table and tail are
    fixed SQL from this module; columns not given stay NULL)."""
    con.register("_s_rows", pa.table(columns))
    try:
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT *, $1 AS recorded_at FROM _s_rows {tail}", [datetime.now(UTC)]
        ).fetchall()
    finally:
        con.unregister("_s_rows")


def decimal_array(cents: np.ndarray) -> pa.Array:
    """Integer hundredths as an exact Arrow DECIMAL(18, 2) array (no float on the way). Arrow's decimal64 holds them
    as they are: its buffer is the numpy array itself (no copy; decimal128 took 0.015 s per million to widen)."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    return pa.Array.from_buffers(pa.decimal64(18, 2), len(cents), [None, pa.py_buffer(cents)])


def _repeat(text: str, n: int) -> pa.Array:
    """`text` n times as an Arrow string array (built in C: a Python list of a million strings takes seconds)."""
    return pa.repeat(pa.scalar(text, pa.string()), n)


def timestamps(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, np.int64), pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def write_chunk(con, engine: Engine, usage_ids: pa.Array, times: np.ndarray) -> None:
    """Append the rows the engine produced for one chunk of calls (`usage_ids`, `times` in µs): spends, recharges,
    expiries and, for MCA calls, what is billed in arrears."""
    now = datetime.now(UTC)
    lots, recharge_entries, invoices, r_alloc = _recharge_tables(engine, usage_ids, times)
    expiry_entries, x_alloc = _expiry_tables(engine.expiry_rows)
    spend_entries = _spend_entries(engine, usage_ids, times)
    # A chunk's spends and allocations go in by one INSERT each, as whole row groups and one partial one, so the
    # checkpoint when the file closes has nothing to merge (a second insert into a table in a transaction left a small
    # row group behind the partial one and made the commit compress again: docs/benchmarks.md). Rows go in sorted by
    # Arrow (DuckDB keeps an Arrow scan's order): spends in call order, the chunk's recharges and expiries by entry.
    others = _sorted(pa.concat_tables([recharge_entries, expiry_entries]), "entry_id")
    # the spends' allocations (in call order, each spend's lots in FIFO order), then the others' by entry and lot
    o_entry, o_lot, o_cents = (np.concatenate(parts) for parts in zip(r_alloc, x_alloc))
    order = np.lexsort((o_lot, o_entry))
    allocations = pa.concat_tables(
        [_allocation_table(*engine.allocations()), _allocation_table(o_entry[order], o_lot[order], o_cents[order])]
    )
    for name, table, sql in (
        ("_s_lot", _sorted(lots, "lot_id"), "INSERT INTO lot SELECT * FROM _s_lot"),
        ("_s_spend", _sorted(spend_entries, "entry_id"), SPEND_INSERT),
        ("_s_entry", others, ENTRY_INSERT),
        ("_s_alloc", allocations, ALLOCATION_INSERT),
        ("_s_invoice", _sorted(invoices, "lot_id"), "INSERT INTO invoice SELECT * FROM _s_invoice"),
    ):
        if len(table) == 0:
            continue
        con.register(name, table)
        try:
            con.execute(sql, [now] if "$1" in sql else []).fetchall()
        finally:
            con.unregister(name)
    owed_call, owed_cents = engine.arrears()
    if len(owed_call):
        insert_stamped(
            con,
            "usage_in_arrears",
            {
                "usage_id": usage_ids.take(pa.array(owed_call, pa.int64())),
                "occurred_at": timestamps(times[owed_call]),
                "amount": decimal_array(owed_cents),
            },
        )


SPEND_INSERT = "INSERT INTO spend_entry BY NAME SELECT *, $1 AS recorded_at FROM _s_spend"
ENTRY_INSERT = "INSERT INTO entry_row BY NAME SELECT *, $1 AS recorded_at FROM _s_entry"
ALLOCATION_INSERT = "INSERT INTO allocation SELECT * FROM _s_alloc"


def _entry_table(entry_id, occurred_us, kind: str, amount: pa.Array, key: pa.Array, lot_id: pa.Array) -> pa.Table:
    """Rows of table entry_row for recharges and expiries (recorded_at is added on insert; they name no call)."""
    return pa.table(
        {
            "entry_id": pa.array(entry_id, pa.int64()),
            "occurred_at": occurred_us if isinstance(occurred_us, pa.Array) else timestamps(occurred_us),
            "kind": _repeat(kind, len(entry_id)),
            "amount": amount,
            "idempotency_key": key,
            "lot_id": lot_id,
        }
    )


def _allocation_table(entry_id, lot_id, cents) -> pa.Table:
    return pa.table(
        {
            "entry_id": pa.array(entry_id, pa.int64()),
            "lot_id": pa.array(lot_id, pa.int64()),
            "amount": decimal_array(cents),
        }
    )


def _recharge_tables(engine: Engine, usage_ids: pa.Array, times: np.ndarray):
    """Lots, entries, invoices and allocations of the auto-recharges made before or after calls."""
    r_call, r_lot, r_entry, r_before, r_exp = engine.recharge_rows()
    r_cents = engine.recharge_cents()  # each lot's own amount: the setting in force at its call
    r_amount = decimal_array(r_cents)
    r_key = pc.binary_join_element_wise(
        pc.if_else(pa.array(r_before, pa.bool_()), "recharge:before:", "recharge:after:"),
        usage_ids.take(pa.array(r_call, pa.int64())),
        "",
    )
    r_time = timestamps(times[r_call])
    lot_ids = pa.array(r_lot, pa.int64())
    lots = pa.table(
        {
            "lot_id": lot_ids,
            "purchased_at": r_time,
            "expires_at": timestamps(r_exp),
            "amount": r_amount,
            "source": _repeat("auto_recharge", len(r_lot)),
            "order_id": r_key,
        }
    )
    entries = _entry_table(r_entry, r_time, "recharge", r_amount, r_key, lot_ids)
    invoices = pa.table(
        {
            "invoice_id": pa.array([invoice_number(int(i)) for i in r_lot], pa.string()),
            "issued_at": r_time,
            "lot_id": lot_ids,
            "amount": r_amount,
            "reason": _repeat("auto_recharge", len(r_lot)),
        }
    )
    return lots, entries, invoices, (r_entry, r_lot, r_cents)


def _expiry_tables(rows: list[tuple]):
    """Entries and allocations of the expiries (entry_id, lot_id, expires_at, remainder) recorded."""
    x_entry, x_lot, x_time, x_rem = (np.array([r[i] for r in rows], np.int64) for i in range(4))
    keys = pa.array([f"expiry:{i}" for i in x_lot], pa.string())
    entries = _entry_table(x_entry, x_time, "expiry", decimal_array(-x_rem), keys, pa.array(x_lot, pa.int64()))
    return entries, (x_entry, x_lot, -x_rem)


def _spend_entries(engine: Engine, usage_ids: pa.Array, times: np.ndarray) -> pa.Table:
    """Rows of table spend_entry (recorded_at is added on insert); a spend's key is its usage_id
    (sql/ledger_schema.sql)."""
    spend_call, spend_entry, spend_cents = engine.spends()
    every_call = len(spend_call) == len(usage_ids) and np.array_equal(spend_call, np.arange(len(spend_call)))
    # usually every call of the chunk was paid, in order: no copy of a million ids then
    spend_ids = usage_ids if every_call else usage_ids.take(pa.array(spend_call, pa.int64()))
    return pa.table(
        {
            "entry_id": pa.array(spend_entry, pa.int64()),
            "occurred_at": timestamps(times[spend_call]),
            "amount": decimal_array(-spend_cents),
            "usage_id": spend_ids,
        }
    )


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
