"""Benchmark: importing call logs (Graph pages, Graph JSON lines, admin center CSV) vs DuckDB's bare read.

    python bench/bench_import.py --rows 1000000 [--dir /tmp/commcredits-bench] [--repeat 2]

Inputs are generated here (never committed) with Graph pstnCallLogRow / Teams admin center column names:
Graph pages of 1,000 rows (one file each, as getPstnCalls returns them), the same rows as JSON lines, and an
admin center CSV. 0.1% of rows are unreadable (quarantine path) and 0.1% repeat an earlier row id
(duplicate path). Each import runs in a child process into a new file-backed ledger, so its peak RSS is its
own. The floor is DuckDB reading the same files into a table of a new database file (read_json / read_csv,
types detected, no checks), also in a child; each figure is the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

ROWS = """
SELECT printf('%08x-0000-4000-8000-%012x', j, j) AS id,
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
FROM (SELECT i, CASE WHEN i % 1000 = 999 THEN i - 500 ELSE i END AS j FROM range({start}, {stop}) t(i))
"""
# (the row id repeats: row 999 of every thousand reuses the id of row 499, a duplicate in the same file)

CSV_ROWS = """
SELECT id AS "UsageId", callId AS "Call ID", '' AS "Conference ID", usageCountryCode AS "User Location",
       '' AS "AAD ObjectId", userPrincipalName AS "UPN", '' AS "User Display Name", '' AS "Caller ID",
       callType AS "Call Type", 'User' AS "Number Type", 'Domestic' AS "Domestic/International",
       'United States' AS "Destination Dialed", calleeNumber AS "Destination Number", startDateTime AS "Start Time",
       startDateTime AS "End Time", duration AS "Duration Seconds", 0 AS "Connection Fee", charge AS "Charge",
       currency AS "Currency", licenseCapability AS "Capability"
FROM ({rows_sql})
"""

PAGE = 1000
NEXT = "https://graph.microsoft.com/v1.0/communications/callRecords/getPstnCalls(fromDateTime=2025-01-01,toDateTime=2025-12-31)?$skip={}"
FLOORS = {
    "pages": "SELECT unnest(value, recursive := true) FROM read_json({files})",
    "jsonl": "SELECT * FROM read_json({files}, format = 'newline_delimited')",
    "csv": "SELECT * FROM read_csv({files}, all_varchar = true)",
}


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """The three inputs for `rows` rows (skipped when already there with the same row count)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / f"rows-{rows}.done"
    paths = {"pages": folder / "pages", "jsonl": folder / "calls.jsonl", "csv": folder / "PSTN.calls.bench.csv"}
    if stamp.exists():
        return paths
    con = duckdb.connect()
    rows_sql = ROWS.format(start=0, stop=rows)
    con.execute(f"COPY ({rows_sql}) TO '{paths['jsonl']}' (FORMAT JSON)")
    con.execute(f"COPY ({CSV_ROWS.format(rows_sql=rows_sql)}) TO '{paths['csv']}' (HEADER, DELIMITER ',')")
    paths["pages"].mkdir(exist_ok=True)
    for old in paths["pages"].glob("*.json"):
        old.unlink()
    for number, start in enumerate(range(0, rows, PAGE)):
        (text,) = con.execute(
            f"SELECT to_json(list(r))::VARCHAR FROM ({ROWS.format(start=start, stop=min(rows, start + PAGE))}) r"
        ).fetchall()[0]
        tail = f', "@odata.nextLink": {json.dumps(NEXT.format(start + PAGE))}' if start + PAGE < rows else ""
        (paths["pages"] / f"page-{number:05}.json").write_text(
            '{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords.'
            f'pstnCallLogRow)", "value": {text}{tail}}}'
        )
    con.close()
    stamp.touch()
    return paths


def child(kind: str, what: str, source: str, db: str) -> None:
    """Run one measurement in this (child) process; print seconds, peak RSS and the import report as JSON."""
    Path(db).unlink(missing_ok=True)
    Path(db + ".wal").unlink(missing_ok=True)
    cpu_before = 0.0
    if what == "floor":
        files = sorted(str(p) for p in Path(source).glob("*.json")) if Path(source).is_dir() else [source]
        con = duckdb.connect(db)
        cpu_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        started = time.perf_counter()
        con.execute(f"CREATE TABLE t AS {FLOORS[kind].format(files=files)}")
        con.close()
        took, report = time.perf_counter() - started, None
    else:
        import commcredits as cc
        from commcredits.usage.call_import import import_pstn_calls

        ledger = cc.open_ledger(db)
        cpu_before = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
        started = time.perf_counter()
        result = import_pstn_calls(ledger, source, progress=False)
        took = time.perf_counter() - started
        report = result.__dict__
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": took,
                "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
                "rss_mb": usage.ru_maxrss / 1024,
                "report": report,
            }
        )
    )


def measure(kind: str, what: str, source: Path, db: Path, repeat: int) -> dict:
    best = None
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, what, str(source), str(db)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        best = result if best is None or result["seconds"] < best["seconds"] else best
    db.unlink(missing_ok=True)
    return best


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/commcredits-bench")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", choices=sorted(FLOORS), action="append")
    args = parser.parse_args()
    folder = Path(args.dir)
    started = time.perf_counter()
    paths = generate(folder, args.rows)
    print(
        f"inputs for {args.rows:,} rows ready in {time.perf_counter() - started:.0f} s "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    for kind in args.only or ["pages", "jsonl", "csv"]:
        floor = measure(kind, "floor", paths[kind], folder / "floor.duckdb", args.repeat)
        ours = measure(kind, "import", paths[kind], folder / "ledger.duckdb", args.repeat)
        r = ours["report"]
        print(
            f"{kind:6} import {ours['seconds']:6.2f} s  floor {floor['seconds']:6.2f} s  "
            f"-> {ours['seconds'] / floor['seconds']:4.1f} x  (CPU {ours['cpu']:6.2f} s vs {floor['cpu']:6.2f} s "
            f"-> {ours['cpu'] / floor['cpu']:4.1f} x)  peak RSS {ours['rss_mb']:,.0f} MB "
            f"(floor {floor['rss_mb']:,.0f} MB)   imported {r['imported']:,}, duplicates {r['duplicates']:,}, "
            f"quarantined {r['quarantined']:,}, files {r['files']:,}"
        )


if __name__ == "__main__":
    main()
