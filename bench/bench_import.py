"""Benchmark: importing Graph JSON lines and a Teams admin center CSV vs DuckDB's own read_json / read_csv.

    python bench/bench_import.py --rows 1000000 [--dir /tmp/commcredits-bench]

The files are generated (not committed) with Graph pstnCallLogRow / admin center column names; 0.1% of rows
are made unreadable so the quarantine path runs too. The floor is DuckDB reading the same file into a table
(CREATE TABLE AS SELECT * FROM read_json/read_csv). Peak memory is the process's maximum resident set.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.usage.call_import import import_pstn_calls  # noqa: E402

ROWS = """
SELECT printf('%08x-0000-4000-8000-%012x', i, i) AS id,
       'call-' || (i // 2) AS callId,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'user' || (i % 500) || '@contoso.com' END AS userPrincipalName,
       CASE WHEN i % 1000 = 7 THEN 'not a time'
            ELSE strftime(TIMESTAMP '2025-01-01' + to_seconds(i * 3), '%Y-%m-%dT%H:%M:%SZ') END AS startDateTime,
       (i % 900) AS duration,
       ((i % 300) * 0.01)::DECIMAL(18, 2) AS charge,
       'USD' AS currency,
       CASE WHEN i % 10 = 0 THEN 'ucap_in' ELSE 'user_out' END AS callType,
       '+1425555' || lpad((i % 10000)::VARCHAR, 4, '0') AS calleeNumber,
       'MCOPSTNPP' AS licenseCapability,
       'US' AS usageCountryCode
FROM range({rows}) t(i)
"""

CSV_ROWS = """
SELECT id AS "UsageId", callId AS "Call ID", '' AS "Conference ID", usageCountryCode AS "User Location",
       '' AS "AAD ObjectId", userPrincipalName AS "UPN", '' AS "User Display Name", '' AS "Caller ID",
       callType AS "Call Type", 'User' AS "Number Type", 'Domestic' AS "Domestic/International",
       'United States' AS "Destination Dialed", calleeNumber AS "Destination Number", startDateTime AS "Start Time",
       startDateTime AS "End Time", duration AS "Duration Seconds", 0 AS "Connection Fee", charge AS "Charge",
       currency AS "Currency", licenseCapability AS "Capability"
FROM ({rows_sql})
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action) -> float:
    t = time.perf_counter()
    action()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    jsonl, csv = folder / "calls.jsonl", folder / "PSTN.calls.bench.csv"
    gen = duckdb.connect()
    rows_sql = ROWS.format(rows=args.rows)
    gen.execute(f"COPY ({rows_sql}) TO '{jsonl}' (FORMAT JSON)")
    gen.execute(f"COPY ({CSV_ROWS.format(rows_sql=rows_sql)}) TO '{csv}' (HEADER, DELIMITER ',')")
    print(f"generated {args.rows:,} rows: {jsonl.stat().st_size / 1e6:,.0f} MB JSON lines, {csv.stat().st_size / 1e6:,.0f} MB CSV")

    floor_json = timed(lambda: gen.execute(f"CREATE TABLE j AS SELECT * FROM read_json('{jsonl}', format = 'newline_delimited')"))
    floor_csv = timed(lambda: gen.execute(f"CREATE TABLE c AS SELECT * FROM read_csv('{csv}', all_varchar = true)"))
    gen.close()

    ledger = cc.open_ledger()
    report = {}
    took_json = timed(lambda: report.update(json=import_pstn_calls(ledger, jsonl, progress=False)))
    took_again = timed(lambda: report.update(again=import_pstn_calls(ledger, jsonl, progress=False)))
    other = cc.open_ledger()
    took_csv = timed(lambda: report.update(csv=import_pstn_calls(other, csv, progress=False)))
    for name, value in report.items():
        print(f"{name:5}: {value}")
    print(f"import JSON lines:   {took_json:7.2f} s  ({args.rows / took_json:,.0f} rows/s)  vs read_json {floor_json:.2f} s"
          f"  -> {took_json / floor_json:.1f} x")
    print(f"re-import (all dup): {took_again:7.2f} s")
    print(f"import CSV:          {took_csv:7.2f} s  ({args.rows / took_csv:,.0f} rows/s)  vs read_csv  {floor_csv:.2f} s"
          f"  -> {took_csv / floor_csv:.1f} x")
    print(f"peak RSS: {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
