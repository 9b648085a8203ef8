"""A big ledger for benchmarks: the demo tenant (same users, licenses and funding rules) with N more settled
calls, built here, never committed.

    .venv/bin/python bench/big_ledger.py /tmp/commcredits-bench/big-10M.duckdb --calls 10000000

The extra calls are copies of the demo's own calls that Microsoft charged to credits, each up to a day earlier
than its original (never before the history starts) with a new usage id, so the history keeps its shape:
the same users, destinations and months, N times busier. Every call (the demo's too) is imported 36 hours after it
was made, in import order, as daily syncs would have left it. They go through the package's own rating and
settlement, and the dashboard's rollups are refreshed once (as the first page read after a settlement does).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.demo import HISTORY_DAYS, demo_calls, demo_end, fill_tenant, fund_and_settle  # noqa: E402
from commcredits.usage.call_import import import_pstn_calls  # noqa: E402

# copy k (k = 1, 2, ...) of each charged demo call, imported 36 hours after it was made (as daily syncs would)
MORE_CALLS = """
INSERT INTO pstn_call BY NAME
SELECT * EXCLUDE (k) REPLACE ('copy-' || k || '-' || usage_id AS usage_id, row_id_key('copy-' || k || '-' || usage_id) AS id_key,
                              least(start_at + INTERVAL 36 HOUR, imported_at) AS imported_at)
FROM (SELECT c.* REPLACE (greatest(c.start_at - to_microseconds((hash(k, c.usage_id) % 86400000000)::BIGINT),
                                   $start) AS start_at), k
      FROM pstn_call c, range(1, $copies + 1) r(k)
      WHERE c.usage_id IN (SELECT usage_id FROM microsoft_charge WHERE billed_by = 'microsoft' AND charge > 0)
      LIMIT $calls)
"""

# every call imported 36 hours after it was made, the demo's own too (a history built by daily syncs, not one import
# a minute before the benchmark), and the table in import order, as daily imports append it
AS_SYNCED = [
    """CREATE OR REPLACE TEMP TABLE _calls AS
       SELECT * REPLACE (least(start_at + INTERVAL 36 HOUR, imported_at) AS imported_at) FROM pstn_call""",
    "DELETE FROM pstn_call",
    "INSERT INTO pstn_call SELECT * FROM _calls ORDER BY imported_at, start_at",
    "DROP TABLE _calls",
]


def build_big(path: Path, calls: int) -> None:
    """The demo tenant (same users, licenses, funding rules) with `calls` more calls, rated and settled, and
    the dashboard's rollups refreshed (as the first page read after a settlement does)."""
    end = demo_end()
    start = end - timedelta(days=HISTORY_DAYS)
    ledger = cc.open_ledger(path, currency="USD", agreement="MOSA")
    rng = random.Random(7)
    callers = fill_tenant(ledger, rng)
    import_pstn_calls(ledger, demo_calls(rng, callers, start, HISTORY_DAYS), progress=False)
    with ledger.store.transaction() as con:
        (demo_rows,) = con.execute(
            "SELECT count(*) FROM microsoft_charge WHERE billed_by = 'microsoft' AND charge > 0"
        ).fetchall()[0]
        copies = -(-calls // demo_rows)
        con.execute(MORE_CALLS, {"start": start, "copies": copies, "calls": calls})
        for statement in AS_SYNCED:
            con.execute(statement)
    fund_and_settle(ledger, start=start, end=end)
    cc.spend_by(ledger, "user")  # refreshes the rollups once, as the first read after settling would


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the ledger file to create (must not exist)")
    parser.add_argument("--calls", type=int, default=10_000_000)
    args = parser.parse_args()
    if args.path.exists():
        sys.exit(f"{args.path} exists; delete it to rebuild.")
    args.path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    build_big(args.path, args.calls)
    ledger = cc.open_ledger(args.path)
    (spends,) = ledger.store.query("SELECT count(*) FROM entry WHERE kind = 'spend'")[0]
    print(f"{args.path}: {spends:,} settled calls, built in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
