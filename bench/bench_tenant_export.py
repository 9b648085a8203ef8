"""Benchmark: export every tenant's ledger and calls as the Parquet dataset, then a cross-tenant question over it.

    python bench/bench_tenant_export.py --tenants 200 --calls 100000 [--dir /tmp/commcredits-bench/export]

Each tenant gets --calls Graph rows (imported through `import_pstn_calls`) and an opening order. Measured: the
first export, an export after one tenant changed (incremental), and "charges by tenant and month" over the
dataset (`read_parquet`, hive partitions) against the same question through `query_all` (attach every file).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from commcredits.tenant_export import dataset_glob, export_dataset  # noqa: E402
from commcredits.tenants import list_tenants, open_tenant, query_all  # noqa: E402
from commcredits.usage.call_import import import_pstn_calls  # noqa: E402

ROWS = """
SELECT printf('t{t}-%010d', i) AS id, 'user' || (i % 50) || '@t{t}.example' AS userPrincipalName,
       strftime(TIMESTAMP '2025-01-01' + to_microseconds((i * {step})::BIGINT), '%Y-%m-%dT%H:%M:%SZ') AS startDateTime,
       60 + i % 600 AS duration, ((i % 300) * 0.01)::DECIMAL(18, 2) AS charge, 'USD' AS currency,
       'user_out' AS callType, 'MCOPSTNPP' AS licenseCapability
FROM range({calls}) t(i)
"""
QUESTION = "SELECT tenant, strftime(start_at, '%Y-%m') AS month, sum(charge) AS charged FROM {calls} GROUP BY ALL"


def build(folder: Path, tenants: int, calls: int) -> None:
    if folder.exists() and len(list_tenants(folder)) >= tenants:
        return
    step = 365 * 86_400_000_000 // calls
    for t in range(tenants):
        ledger = open_tenant(folder, f"tenant-{t:03}", currency="USD")
        ledger.add_funds("1000.00", at=datetime(2025, 1, 1, tzinfo=UTC), order_id="opening")
        source = folder.parent / f"calls-{t:03}.jsonl"
        duckdb.sql(f"COPY ({ROWS.format(t=t, calls=calls, step=step)}) TO '{source}' (FORMAT JSON)")
        import_pstn_calls(ledger, source, progress=False)
        source.unlink()


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench/export")
    args = parser.parse_args()
    root = Path(args.dir) / f"{args.tenants}x{args.calls}"
    folder, target = root / "tenants", root / "dataset"
    build(folder, args.tenants, args.calls)
    first, report = timed(lambda: export_dataset(folder, target))
    print(f"first export of {args.tenants} tenants x {args.calls:,} calls: {first:.1f} s ({report})")
    open_tenant(folder, "tenant-000").add_funds("10.00", at=datetime.now(UTC), order_id="top-up")
    again, report = timed(lambda: export_dataset(folder, target))
    print(f"export after one tenant changed: {again:.2f} s ({report})")
    over_files, _ = timed(lambda: query_all(folder, QUESTION.format(calls="pstn_call")))
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        source = f"read_parquet('{dataset_glob(target, 'calls')}', hive_partitioning = true)"
        over_dataset, _ = timed(lambda: con.sql(QUESTION.format(calls=source)).fetchall())
    print(
        f"charges by tenant and month: dataset {over_dataset:.2f} s, query_all {over_files:.2f} s "
        f"({over_files / over_dataset:.1f}x faster over the dataset); load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
