"""Keep the dashboard's sums (sql/rollup_schema.sql) up to date: append what the entries since the last
refresh add, in the caller's transaction. Derived data: the views add newer entries live, so refreshing only
makes reads faster."""

from __future__ import annotations

from datetime import UTC, datetime

# {old} and {new} are entry ids read from the ledger (integers), written as constants so DuckDB plans the joins
# from the few new entries, not from every call.
REFRESH = (
    """
    INSERT INTO lot_rollup
    SELECT {new}, a.lot_id, sum(a.amount),
           coalesce(-sum(a.amount) FILTER (WHERE e.kind = 'spend'), 0),
           coalesce(-sum(a.amount) FILTER (WHERE e.kind = 'expiry'), 0),
           bool_or(e.kind = 'expiry')
    FROM allocation a JOIN entry e USING (entry_id)
    WHERE a.entry_id > {old} AND a.entry_id <= {new} AND e.entry_id > {old} AND e.entry_id <= {new}
    GROUP BY a.lot_id
    """,
    """
    INSERT INTO day_rollup
    SELECT {new}, date_trunc('day', occurred_at), sum(amount), sum(amount) FILTER (WHERE kind = 'spend'),
           sum(amount) FILTER (WHERE kind IN ('purchase', 'recharge')), sum(amount) FILTER (WHERE kind = 'expiry')
    FROM entry WHERE entry_id > {old} AND entry_id <= {new}
    GROUP BY 2
    """,
    "INSERT INTO spend_rollup SELECT {new}, * FROM spend_sums({old}, {new})",
)


# Spend rollups written before the 'number' dimensions existed hold none of them; they are summed again once.
OUTDATED = (
    "SELECT EXISTS (SELECT 1 FROM spend_rollup WHERE dimension = 'user') "
    "AND NOT EXISTS (SELECT 1 FROM spend_rollup WHERE dimension = 'number')"
)


def rebuild_outdated_spend_rollup(con) -> bool:
    """Sum the spends up to the mark again when the spend rollup predates a dimension (inside the open
    transaction `con`); return whether it did."""
    if not con.execute(OUTDATED).fetchall()[0][0]:
        return False
    (mark,) = con.execute("SELECT rollup_mark_now()").fetchall()[0]
    con.execute("DELETE FROM spend_rollup").fetchall()
    con.execute(f"INSERT INTO spend_rollup SELECT {int(mark)}, * FROM spend_sums(0, {int(mark)})").fetchall()
    return True


def rollup_mark(con) -> tuple[int, int]:
    """(entries covered by the rollups, last entry id) on the open connection `con`."""
    return con.execute("SELECT rollup_mark_now(), coalesce(last_entry_id(), 0)").fetchall()[0]


def refresh_rollups(con) -> int:
    """Append the rollups of the entries after the mark, inside the open transaction `con`; return how many
    entries that covered (0: already up to date)."""
    rebuild_outdated_spend_rollup(con)
    old, new = (int(v) for v in rollup_mark(con))
    if new <= old:
        return 0
    for statement in REFRESH:
        con.execute(statement.format(old=old, new=new))
    con.execute("INSERT INTO rollup_mark VALUES ($1, $2)", [new, datetime.now(UTC)]).fetchall()
    return new - old


def fresh_mark(store) -> int:
    """Refresh the rollups when entries were added since (a short write), and return the mark. A busy ledger
    is not waited for: the views then add the newer entries live."""
    old, new, outdated = store.query(f"SELECT rollup_mark_now(), coalesce(last_entry_id(), 0), ({OUTDATED})")[0]
    if (new <= old and not outdated) or store.in_read_session:  # a write in a session would wait for its own lock
        return int(old)
    waited, store.busy_timeout = store.busy_timeout, min(store.busy_timeout, 0.5)
    try:
        with store.transaction() as con:
            refresh_rollups(con)
            return int(rollup_mark(con)[0])
    except Exception:  # LedgerBusy or a read-only file: read without the refresh
        return int(old)
    finally:
        store.busy_timeout = waited
