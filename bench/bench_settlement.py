"""Benchmark: set-based settlement vs the per-call reference (Ledger.spend) and vs DuckDB's bare ordered sum.

    python bench/bench_settlement.py --calls 1000000 [--baseline-calls 2000] [--repeat 2] [--dir /tmp/commcredits-bench/settle]

Data is generated (not committed): calls spread over 18 months (so lots, recharge lots included, expire),
charges 0.01..3.00 reported by Microsoft, one opening order and auto-recharge on. The calls are put in a ledger
file's imported calls (pstn_call); each measurement runs in a child process on a fresh copy of that file:
settle(ledger) (the admin's path), and the floor, DuckDB's bare ordered running sum `sum() over (order by
time)` of the same rows written to a table in the same file. Each child reports wall time, CPU time (all
threads) and its peak resident set (ru_maxrss; DuckDB's memory is native). Best of --repeat, alternating.
The per-call reference (Ledger.spend in a loop) is measured on --baseline-calls calls and extrapolated
linearly (it slows as the ledger grows, so that flatters it; 0 skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(con, calls: int):
    """usage_id, start_at, charge (DECIMAL(18, 2)) for `calls` calls over 18 months (a DuckDB relation)."""
    return con.sql(
        f"""
        SELECT 'call-' || i AS usage_id,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((hash(i) % 47304000000000)::BIGINT) AS start_at,
               (((hash(i * 7 + 1) % 300) + 1) * 0.01)::DECIMAL(18, 2) AS charge
        FROM range({calls}) t(i)
        """
    )


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


def build_base(path: Path, calls: int) -> None:
    """A ledger file with the opening order, auto-recharge and `calls` imported calls, not settled. Each call was
    imported 36 hours after it was made, as daily syncs would have (Microsoft's logs lag 24 to 48 hours)."""
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
    fresh_ledger(path)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    rows = generate(con, calls).sql_query()
    con.execute(f"""INSERT INTO pstn_call BY NAME SELECT usage_id, start_at, charge, 'USD' AS currency,
                    'graph' AS source, start_at + INTERVAL 36 HOUR AS imported_at, row_id_key(usage_id) AS id_key
                    FROM ({rows})""")
    con.close()


def child(what: str, path: str) -> None:
    """One measurement in this child process, printed as JSON."""
    if what == "floor":

        def action():
            con = duckdb.connect(path)
            con.execute(
                "CREATE TABLE running AS SELECT usage_id, sum(charge) OVER (ORDER BY start_at, usage_id) AS s "
                "FROM pstn_call"
            )
            con.close()
            return None
    else:
        ledger = cc.open_ledger(path)

        def action():
            report = settle(ledger)
            return {
                "settled": report.settled,
                "recharges": report.recharges,
                "expired": report.expired_lots,
                "blocked": report.blocked,
            }

    wall, cpu, result = timed(action)
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": peak_mb(), "report": result}))


def measure(what: str, base: Path, folder: Path) -> dict:
    target = folder / "run.duckdb"
    for p in (target, Path(f"{target}.wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(base, target)
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, str(target)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--baseline-calls", type=int, default=2000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench/settle")
    parser.add_argument("--repeat", type=int, default=1, help="best of N for both the floor and ours")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"base-{args.calls}.duckdb"
    t = time.perf_counter()
    build_base(base, args.calls)
    print(f"generated {args.calls:,} imported calls in {time.perf_counter() - t:.1f} s")

    floor = ours = None
    for _ in range(args.repeat):  # alternate, so both see the same machine
        f, o = measure("floor", base, folder), measure("settle", base, folder)
        floor = f if floor is None or f["wall"] < floor["wall"] else floor
        ours = o if ours is None or o["wall"] < ours["wall"] else ours
    r = ours["report"]
    print(
        f"settled {r['settled']:,} calls ({r['recharges']:,} recharges, {r['expired']:,} lots expired, "
        f"{r['blocked']:,} blocked)"
    )
    print(
        f"set-based settle:            {ours['wall']:10.2f} s   ({args.calls / ours['wall']:,.0f} calls/s; "
        f"CPU {ours['cpu']:.2f} s; peak RSS {ours['rss_mb']:,.0f} MB)"
    )
    print(
        f"bare DuckDB sum() over:      {floor['wall']:10.2f} s   (CPU {floor['cpu']:.2f} s; peak RSS "
        f"{floor['rss_mb']:,.0f} MB)"
    )
    print(
        f"cost vs bare ordered sum:    {ours['wall'] / floor['wall']:10.1f} x   (CPU time: "
        f"{ours['cpu'] / floor['cpu']:.1f} x)"
    )
    print(
        f"time per call: {ours['wall'] / args.calls * 1e6:.2f} µs wall, {ours['cpu'] / args.calls * 1e6:.2f} µs CPU; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    if args.baseline_calls:
        gen = duckdb.connect()
        gen.execute("SET TimeZone = 'UTC'")
        sample = generate(gen, args.calls).order("start_at, usage_id").limit(args.baseline_calls).to_arrow_table()
        slow = fresh_ledger()
        rows = sample.to_pylist()
        t = time.perf_counter()
        for row in rows:
            try:
                slow.spend(row["charge"], at=row["start_at"], usage_id=row["usage_id"])
            except cc.InsufficientCredits:
                pass
        per_call = (time.perf_counter() - t) / len(rows)
        print(
            f"per-call Ledger.spend: {per_call * 1000:.2f} ms/call on {len(rows):,} calls -> "
            f"{per_call * args.calls:,.0f} s extrapolated, {per_call * args.calls / ours['wall']:,.0f} x slower"
        )


if __name__ == "__main__":
    main()
