"""Benchmark: many tenants, one file each; "spend by tenant and month" across all vs one combined table.

    python bench/bench_tenants.py --tenants 50 --calls 200000 [--dir /tmp/commcredits-bench/tenants] [--repeat 3]

Each tenant's ledger is generated here (never committed): an opening order, auto-recharge on, and --calls
calls settled over 18 months. The combined baseline is every tenant's `entry` rows in one table (with a tenant
column) of one DuckDB file. Measured, best of --repeat: `tenants.query_all` (attach every file read-only,
build the union views, run, close: what an analyst's query costs) and the same query on the combined table
(connect to its file, run, close).
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

from commcredits import tenants  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402

QUERY = """
SELECT tenant, date_trunc('month', occurred_at) AS month, count(*) AS calls, -sum(amount) AS spent
FROM entry WHERE kind = 'spend'
GROUP BY ALL ORDER BY ALL
"""


def calls(con, n: int, seed: int):
    return con.sql(
        f"""
        SELECT 't{seed}-call-' || i AS usage_id,
               TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((hash(i + {seed} * 1000003) % 47304000000000)::BIGINT) AS start_at,
               (((hash(i * 7 + {seed}) % 300) + 1) * 0.01)::DECIMAL(18, 2) AS charge
        FROM range({n}) t(i)
        """
    ).to_arrow_table()


def generate(folder: Path, count: int, per_tenant: int) -> None:
    stamp = folder / f"done-{count}x{per_tenant}"
    if stamp.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.duckdb"):
        old.unlink()
    gen = duckdb.connect()
    started = time.perf_counter()
    for i in range(count):
        ledger = tenants.open_tenant(folder, f"tenant-{i:03}.onmicrosoft.com", currency="USD")
        ledger.add_funds("1000.00", at=datetime(2024, 1, 1, tzinfo=UTC), order_id="opening")
        ledger.set_auto_recharge(amount="500.00", below="100.00")
        settle(ledger, calls=calls(gen, per_tenant, i))
        print(f"\r  tenant {i + 1}/{count} settled ({time.perf_counter() - started:.0f} s)", end="", flush=True)
    print()
    stamp.touch()


def combine(folder: Path, target: Path) -> None:
    target.unlink(missing_ok=True)
    con = tenants._connect_files({n: tenants.tenant_path(folder, n) for n in tenants.list_tenants(folder)}, 15)
    con.execute(f"ATTACH '{target}' AS combined")
    con.execute("CREATE TABLE combined.entry AS SELECT * FROM memory.main.entry")
    con.close()


def best(action, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench/tenants")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(args.dir)
    generate(folder / "ledgers", args.tenants, args.calls)
    combined = folder / "combined.duckdb"
    combine(folder / "ledgers", combined)

    def on_combined():
        con = duckdb.connect(str(combined), read_only=True)
        con.execute("SET TimeZone = 'UTC'")
        try:
            return con.sql(QUERY).to_arrow_table().to_pandas()
        finally:
            con.close()

    base, expected = best(on_combined, args.repeat)
    ours, result = best(lambda: tenants.query_all(folder / "ledgers", QUERY), args.repeat)
    assert result.values.tolist() == expected.values.tolist(), "the cross-tenant view must give the combined answer"
    con = tenants._connect_files(
        {n: tenants.tenant_path(folder / "ledgers", n) for n in tenants.list_tenants(folder / "ledgers")}, 15
    )
    attached, _ = best(lambda: con.sql(QUERY).to_arrow_table(), args.repeat)
    con.close()
    (rows,) = duckdb.connect(str(combined), read_only=True).execute("SELECT count(*) FROM entry").fetchall()[0]
    print(
        f"{args.tenants} tenants x {args.calls:,} calls ({rows:,} ledger entries, {len(result):,} result rows); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"query_all (attach {args.tenants} files, query, close): {ours:6.3f} s")
    print(f"  the query alone on the attached files:           {attached:6.3f} s")
    print(f"one combined table (connect, query, close):        {base:6.3f} s")
    print(f"ratio: {ours / base:.2f} x  (query alone: {attached / base:.2f} x)")


if __name__ == "__main__":
    main()
