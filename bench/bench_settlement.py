"""Benchmark: set-based settlement vs the per-call reference (Ledger.spend) and vs DuckDB's bare ordered sum.

    python bench/bench_settlement.py --calls 1000000 [--baseline-calls 2000] [--dir /tmp/commcredits-bench/settle]

Data is generated (not committed): calls spread over 18 months (so lots, recharge lots included, expire),
charges 0.01..3.00, one opening order and auto-recharge on. The per-call baseline is measured on
--baseline-calls calls and extrapolated linearly (it is slower per call as the ledger grows, so the
extrapolation flatters it; --baseline-calls 0 skips it). The ledger is a new DuckDB file, and so is the floor's
table: DuckDB's bare ordered running sum `sum() over (order by time)` of the same rows, written to a table.
Peak memory is the process's maximum resident set (ru_maxrss; DuckDB's memory is native, which tracemalloc
cannot see); the generated calls themselves are in it too.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import datetime, timezone
from decimal import Decimal

import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(con, calls: int):
    """usage_id, start_at, charge (DECIMAL(18, 2)) for `calls` calls over 18 months, as an Arrow table."""
    return con.sql(
        f"""
        SELECT 'call-' || i AS usage_id,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((hash(i) % 47304000000000)::BIGINT) AS start_at,
               (((hash(i * 7 + 1) % 300) + 1) * 0.01)::DECIMAL(18, 2) AS charge
        FROM range({calls}) t(i)
        """
    ).to_arrow_table()


def timed(action):
    """(wall seconds, CPU seconds of every thread of this process, result) of action()."""
    cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    t = time.perf_counter()
    result = action()
    return time.perf_counter() - t, sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu, result


def fresh_ledger(path=":memory:"):
    ledger = cc.open_ledger(path)
    ledger.add_funds("1000.00", at=START, order_id="opening")
    ledger.set_auto_recharge(amount="500.00", below="100.00")
    return ledger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--baseline-calls", type=int, default=2000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench/settle")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for both the floor and ours")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ledger.duckdb", "ledger.duckdb.wal", "floor.duckdb", "floor.duckdb.wal"):
        (folder / name).unlink(missing_ok=True)

    gen = duckdb.connect()
    gen.execute("SET TimeZone = 'UTC'")
    t = time.perf_counter()
    table = generate(gen, args.calls)
    print(f"generated {args.calls:,} calls in {time.perf_counter() - t:.1f} s")

    gen.close()
    # floor: DuckDB's own ordered running sum of the same rows, written to a table in a new file
    def run_floor():
        for name in ("floor.duckdb", "floor.duckdb.wal"):
            (folder / name).unlink(missing_ok=True)
        floor_db = duckdb.connect(str(folder / "floor.duckdb"))
        floor_db.register("calls", table)
        floor_db.execute("CREATE TABLE running AS SELECT usage_id, sum(charge) OVER (ORDER BY start_at, usage_id) AS s FROM calls")
        floor_db.close()

    # per-call reference on a prefix, extrapolated
    sample = table.sort_by([("start_at", "ascending"), ("usage_id", "ascending")]).slice(0, args.baseline_calls)
    slow = fresh_ledger()
    rows = sample.to_pylist()
    t = time.perf_counter()
    for row in rows:
        try:
            slow.spend(row["charge"], at=row["start_at"], usage_id=row["usage_id"])
        except cc.InsufficientCredits:
            pass
    per_call = (time.perf_counter() - t) / max(1, len(rows))

    def run_ours():
        for name in ("ledger.duckdb", "ledger.duckdb.wal"):
            (folder / name).unlink(missing_ok=True)
        ledger = fresh_ledger(folder / "ledger.duckdb")
        return ledger, settle(ledger, calls=table)

    before = peak_mb()
    floor = floor_cpu = elapsed = ours_cpu = float("inf")
    for _ in range(args.repeat):  # alternate, so both see the same machine
        took, cpu, _ = timed(run_floor)
        floor, floor_cpu = min(floor, took), min(floor_cpu, cpu)
        took, cpu, (ledger, report) = timed(run_ours)
        elapsed, ours_cpu = min(elapsed, took), min(ours_cpu, cpu)
    (entries,) = ledger.store.query("SELECT count(*) FROM entry")[0]
    (allocs,) = ledger.store.query("SELECT count(*) FROM allocation")[0]

    baseline = per_call * args.calls
    print(f"settled {report.settled:,} calls ({report.recharges:,} recharges, {report.expired_lots:,} lots expired, "
          f"{report.blocked:,} blocked); wrote {entries:,} entries and {allocs:,} allocations")
    print(f"set-based settle:            {elapsed:10.2f} s   ({args.calls / elapsed:,.0f} calls/s)")
    if rows:
        print(f"per-call Ledger.spend:       {baseline:10.0f} s   (measured {per_call * 1000:.2f} ms/call on "
              f"{len(rows):,} calls, extrapolated x{args.calls / len(rows):,.0f})")
    print(f"bare DuckDB sum() over:      {floor:10.2f} s")
    if rows:
        print(f"speed-up vs per-call:        {baseline / elapsed:10.0f} x")
    print(f"cost vs bare ordered sum:    {elapsed / floor:10.1f} x   (CPU time {ours_cpu:.2f} s vs {floor_cpu:.2f} s: "
          f"{ours_cpu / floor_cpu:.1f} x)")
    print(f"time per call: {elapsed / args.calls * 1e6:.2f} µs; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"peak RSS: {peak_mb():,.0f} MB (before settle {before:,.0f} MB)")
    assert report.amount > Decimal(0)


if __name__ == "__main__":
    main()
