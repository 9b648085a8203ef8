"""Benchmark: the everyday job, one day's new calls imported, rated and settled into a ledger that already
holds many. Its cost should follow the day's calls, not the ledger (issue 23).

    python bench/bench_daily_sync.py --ledger-calls 10000000 --new-calls 30000 [--dir /tmp/commcredits-bench/daily]

Two ledgers are built with bench/big_ledger.py (kept in --dir and reused by later runs): the demo tenant, and
the demo tenant with --ledger-calls more settled calls. Into a fresh copy of each, the same --new-calls calls
(Graph getPstnCalls JSON lines: demo users' outbound calls Microsoft charged to credits, made today after the
ledger's last settlement) are imported, rated and settled through `import_pstn_calls` and `rate_and_settle`.
Target: the big ledger's total within 1.5x of the demo ledger's (the baseline, measured in the same run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from big_ledger import build_big  # noqa: E402

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402
from commcredits.demo import demo_end  # noqa: E402
from commcredits.usage.call_import import import_pstn_calls  # noqa: E402
from commcredits.usage.rating import rate_calls  # noqa: E402

TARGET = 1.5
NEW_CALLS = """
SELECT printf('day-%08x-0000-4000-8000-%012x', i, i) AS id, 'day-call-' || i AS callId,
       u.user_principal_name AS userPrincipalName, u.user_id AS userId,
       strftime($first::TIMESTAMP + to_microseconds((i * $step)::BIGINT), '%Y-%m-%dT%H:%M:%S.%fZ') AS startDateTime,
       30 + (hash(i) % 600) AS duration, (((hash(i * 7) % 200) + 1) * 0.01)::DECIMAL(18, 2) AS charge,
       'USD' AS currency, 'user_out' AS callType, '+1425555' || lpad((i % 10000)::VARCHAR, 4, '0') AS calleeNumber,
       'MCOPSTNPP' AS licenseCapability, 'US' AS usageCountryCode, 'Microsoft' AS operator
FROM range($calls) t(i)
JOIN (SELECT row_number() OVER (ORDER BY user_principal_name) - 1 AS n, user_principal_name, any_value(user_id) AS user_id
      FROM read_parquet('{users}') GROUP BY user_principal_name) u ON u.n = i % $user_count
"""


def ledger_file(folder: Path, calls: int) -> Path:
    path = folder / f"ledger-{calls}.duckdb"
    if not path.exists():
        started = time.perf_counter()
        build_big(path, calls)
        print(f"built {path.name} ({calls:,} extra calls) in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def new_day(folder: Path, ledger: Path, calls: int) -> Path:
    """Today's calls so far (after the ledger's last settlement at the start of today), by the demo's users."""
    users = folder / "users.parquet"
    with duckdb.connect(str(ledger), read_only=True) as con:
        con.execute(
            f"COPY (SELECT DISTINCT user_principal_name, user_id FROM pstn_call WHERE user_id IS NOT NULL) "
            f"TO '{users}' (FORMAT PARQUET)"
        )
    first = demo_end()
    span = max(datetime.now(UTC) - first - timedelta(minutes=5), timedelta(minutes=1))
    path = folder / f"today-{calls}.jsonl"
    with duckdb.connect() as con:
        (user_count,) = con.execute(
            f"SELECT count(DISTINCT user_principal_name) FROM read_parquet('{users}')"
        ).fetchone()
        con.execute(
            f"COPY ({NEW_CALLS.format(users=users)}) TO '{path}' (FORMAT JSON)",
            {
                "first": first.replace(tzinfo=None),
                "step": span // timedelta(microseconds=1) // calls,
                "calls": calls,
                "user_count": user_count,
            },
        )
    return path


def sync_once(source: Path, copy: Path, day: Path, calls: int) -> dict[str, float]:
    """Import, rate and settle the day's calls into a fresh copy of `source`; seconds per stage."""
    for p in (copy, Path(f"{copy}.wal")):
        p.unlink(missing_ok=True)
    shutil.copyfile(source, copy)
    # the copy is the benchmark's own doing: its written pages (1 GB for the big ledger) go to disk before the
    # clock starts, or the kernel flushes them during the sync and the bigger file pays for the copy
    os.sync()
    ledger = cc.open_ledger(copy)
    times = {}
    for stage, action in (
        ("import", lambda: import_pstn_calls(ledger, day, progress=False)),
        ("rate", lambda: rate_calls(ledger)),
        ("settle", lambda: settle(ledger)),
    ):
        started = time.perf_counter()
        result = action()
        times[stage] = time.perf_counter() - started
        if stage == "import" and result.imported != calls:
            sys.exit(f"only {result.imported:,} of the day's calls were imported ({result})")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger-calls", type=int, default=10_000_000)
    parser.add_argument("--new-calls", type=int, default=30_000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench/daily")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    demo, big = ledger_file(folder, 0), ledger_file(folder, args.ledger_calls)
    day = new_day(folder, demo, args.new_calls)
    load = os.getloadavg()[0]
    baseline = sync_once(demo, folder / "run-demo.duckdb", day, args.new_calls)
    ours = sync_once(big, folder / "run-big.duckdb", day, args.new_calls)
    load = max(load, os.getloadavg()[0])
    print(f"{args.new_calls:,} new calls; load average up to {load:.1f} on {os.cpu_count()} cores")
    print(f"{'stage':8} {'demo ledger':>12} {f'+{args.ledger_calls:,} calls':>16} {'ratio':>6}")
    for stage in baseline:
        print(f"{stage:8} {baseline[stage]:11.2f}s {ours[stage]:15.2f}s {ours[stage] / baseline[stage]:5.2f}x")
    ratio = sum(ours.values()) / sum(baseline.values())
    print(
        f"{'total':8} {sum(baseline.values()):11.2f}s {sum(ours.values()):15.2f}s {ratio:5.2f}x   "
        f"target {TARGET}x: {'met' if ratio <= TARGET else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
