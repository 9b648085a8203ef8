"""Benchmark: a late batch of call logs (1% of the calls, made in the 48 hours before the ledger's last entry)
settled into a big ledger, against settling the same batch alone into a ledger holding only the purchases.

    python bench/bench_late_settlement.py --calls 1000000 [--late-share 0.01] [--dir /tmp/commcredits-bench/late]

The big ledger: --calls calls over 18 months (bench_settlement's generator), one opening order, auto-recharge on,
settled. The late batch is taken at its own time (issue 24): the ledger is worked out again from the earliest late
call, and the differences appended. The target: the time grows with what happened since that call (the calls
and lots it touches), not with the ledger, so the ratio to settling the batch alone stays small as --calls grows.
The batch is inserted into pstn_call and settled with `settle(ledger)`, the path an import or a sync takes (the
report's counts by status included). The big ledger is built and settled once, its rollups refreshed as the first
page read after a settlement does (settled-N.duckdb in --dir), and copied for each run. Both runs are in this process, on ledger files; wall and CPU time (all
threads) are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_settlement import build_base, fresh_ledger, peak_mb, timed  # noqa: E402

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402


def late_batch(ledger, count: int) -> pd.DataFrame:
    """`count` calls made in the 48 hours before the ledger's last entry (none of them in the ledger yet)."""
    (last,) = ledger.store.query("SELECT max(occurred_at) FROM entry")[0]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.execute(
        f"""SELECT 'late-' || i AS usage_id,
                   $1::TIMESTAMPTZ - to_microseconds(1 + (hash(i) % 172800000000)::BIGINT) AS start_at,
                   (((hash(i * 3 + 2) % 300) + 1) * 0.01)::DECIMAL(18, 2) AS charge
            FROM range({count}) t(i)""",
        [last],
    ).df()


def insert_calls(ledger, batch: pd.DataFrame) -> None:
    """The batch as imported rows (what an import or a sync leaves in pstn_call), not settled."""
    with ledger.store.transaction() as con:
        con.register("_late_batch", batch)
        con.execute(
            "INSERT INTO pstn_call BY NAME SELECT usage_id, start_at, charge, 'USD' AS currency, 'graph' AS source, "
            "now() AS imported_at, row_id_key(usage_id) AS id_key FROM _late_batch"
        )
        con.unregister("_late_batch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--late-share", type=float, default=0.01)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/commcredits-bench/late"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    big_path, alone_path = args.dir / "big.duckdb", args.dir / "alone.duckdb"
    settled = args.dir / f"settled-{args.calls}.duckdb"  # built and settled once, copied for each run
    base_wall = None
    if not settled.exists():
        build_base(big_path, args.calls)
        base_wall, _, _ = timed(lambda: settle(cc.open_ledger(big_path)))
        cc.spend_by(cc.open_ledger(big_path), "user")  # refreshes the rollups, as the first page read after it does
        shutil.copyfile(big_path, settled)
    for p in (big_path, Path(f"{big_path}.wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(settled, big_path)
    big = cc.open_ledger(big_path)
    batch = late_batch(big, max(1, int(args.calls * args.late_share)))
    t0 = batch["start_at"].min()
    (since,) = big.store.query("SELECT count(*) FROM entry WHERE kind = 'spend' AND call_at >= $1", [t0])[0]
    insert_calls(big, batch)
    late_wall, late_cpu, report = timed(lambda: settle(big))
    for p in (alone_path, Path(f"{alone_path}.wal")):
        p.unlink(missing_ok=True)
    alone = fresh_ledger(alone_path)
    insert_calls(alone, batch)
    alone_wall, alone_cpu, _ = timed(lambda: settle(alone))
    print(
        json.dumps(
            {
                "ledger_calls": args.calls,
                "late_calls": len(batch),
                "late_reported": report.late,
                "settled": report.settled,
                "recorded_calls_since_earliest_late_call": since,
                "settle_ledger_s": None if base_wall is None else round(base_wall, 2),  # None: reused
                "late_batch_s": round(late_wall, 2),
                "late_batch_cpu_s": round(late_cpu, 2),
                "batch_alone_s": round(alone_wall, 2),
                "batch_alone_cpu_s": round(alone_cpu, 2),
                "ratio_wall": round(late_wall / alone_wall, 2),
                "ratio_cpu": round(late_cpu / max(alone_cpu, 1e-9), 2),
                "peak_rss_mb": round(peak_mb()),
                "load_average": round(os.getloadavg()[0], 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
