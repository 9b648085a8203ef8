"""Benchmark: what an admin runs, import -> rate -> settle, from call log files into a file-backed ledger.

    python bench/bench_pipeline.py --calls 1000000 [--files 1] [--repeat 3] [--dir /tmp/commcredits-bench/pipeline]

Inputs are generated here (never committed): Graph getPstnCalls rows as JSON lines, --files files (one export
per period), calls spread over 18 months so lots expire and auto-recharge runs; 90% are outbound calls
Microsoft charged to Communication Credits (licenseCapability MCOPSTNPP with a charge), 10% toll-free calls
into an auto attendant that the rate card prices. The ledger is a new DuckDB file with an opening order and
auto-recharge on.

Each stage runs in its own child process (so its peak resident memory is its own, attributed by stage) and is set
against its bare DuckDB baseline on the same rows, measured afterwards in the same run into another new file:
import vs `read_json` of the files into a table; rate vs one pass writing a derived row per call
(`round(charge, 2)`); settle vs the bare ordered running sum `sum() over (order by time)`. A stage opens the ledger
file, works, commits and closes it (closing checkpoints what it wrote), so its baseline does the same: it opens the
baseline file, runs its statement and closes the file. Each stage and its baseline run --repeat times, alternately,
each on a fresh copy of the file the stage before left (flushed to disk first), and the best wall time of each
counts (as bench_settlement.py does): on a shared machine one run of a 0.2 s stage swings by a third. The verdict
is the wall-time ratio of the two; CPU time (every thread) is shown beside it, since on a shared machine wall time
swings with load. So are `session` (an empty transaction on the ledger file after the stage: open, commit, close)
and `statement`, the baseline's statement alone on its open connection, with our stage's ratio to it (how earlier
runs were judged).
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
from functools import partial
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import commcredits as cc  # noqa: E402
from commcredits.credits.settlement import settle  # noqa: E402
from commcredits.usage.call_import import import_pstn_calls  # noqa: E402
from commcredits.usage.rating import load_included_minutes, load_rate_card, rate_calls  # noqa: E402

SPAN_SECONDS = 47_304_000  # 18 months
ROWS = """
SELECT printf('%08x-0000-4000-8000-%012x', i, i) AS id,
       'call-' || i AS callId,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'user' || (i % 2000) || '@contoso.com' END AS userPrincipalName,
       strftime(TIMESTAMP '2024-01-01' + to_microseconds((i * {step})::BIGINT), '%Y-%m-%dT%H:%M:%S.%fZ') AS startDateTime,
       30 + (hash(i) % 900) AS duration,
       CASE WHEN i % 10 = 0 THEN NULL ELSE (((hash(i * 7) % 300) + 1) * 0.01)::DECIMAL(18, 2) END AS charge,
       'USD' AS currency,
       CASE WHEN i % 10 = 0 THEN 'ucap_in' ELSE 'user_out' END AS callType,
       CASE WHEN i % 10 = 0 THEN '+18005550199' ELSE '+1425555' || lpad((i % 10000)::VARCHAR, 4, '0') END AS calleeNumber,
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'MCOPSTNPP' END AS licenseCapability,
       'US' AS usageCountryCode
FROM range({start}, {stop}) t(i)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, calls: int, files: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"calls-{n:02}.jsonl" for n in range(files)]
    stamp = folder / f"done-{calls}-{files}"
    if stamp.exists():
        return paths
    con = duckdb.connect()
    step = SPAN_SECONDS * 1_000_000 // calls
    bounds = [calls * n // files for n in range(files + 1)]
    for path, start, stop in zip(paths, bounds, bounds[1:]):
        con.execute(f"COPY ({ROWS.format(start=start, stop=stop, step=step)}) TO '{path}' (FORMAT JSON)")
    con.close()
    stamp.touch()
    return paths


def fresh(path: Path) -> Path:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)
    return path


def cpu_seconds() -> float:
    """CPU time of every thread of this process so far (DuckDB runs a query on several)."""
    return sum(resource.getrusage(resource.RUSAGE_SELF)[:2])


def timed(action):
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def timed_cpu(action):
    """(wall seconds, CPU seconds, result) of action()."""
    cpu = cpu_seconds()
    wall, result = timed(action)
    return wall, cpu_seconds() - cpu, result


def run_stage(stage: str, ledger_path: Path, inputs: Path) -> dict:
    """One pipeline stage in this (child) process: seconds (wall and CPU), peak RSS in MB and what it did; and,
    apart from the stage, the fixed cost of a session on the file (an empty transaction: open, commit, close),
    which every stage pays at least once and the floors, timed on an open connection, do not."""
    ledger = cc.open_ledger(ledger_path)
    actions = {
        "import": lambda: import_pstn_calls(ledger, inputs, progress=False),
        "rate": lambda: rate_calls(ledger),
        "settle": lambda: settle(ledger),
    }
    seconds, cpu, result = timed_cpu(actions[stage])
    session, _ = timed(lambda: _empty_transaction(ledger))
    done = {
        "import": lambda r: {"imported": r.imported, "quarantined": r.quarantined},
        "rate": lambda r: {"rated": r.by_method},
        "settle": lambda r: {
            "settled": r.settled,
            "recharges": r.recharges,
            "expired_lots": r.expired_lots,
            "blocked": r.blocked,
        },
    }[stage](result)
    return {"seconds": seconds, "cpu": cpu, "session": session, "peak_mb": peak_mb(), **done}


def _empty_transaction(ledger) -> None:
    with ledger.store.transaction():
        pass


def _floor_session(path: str, sql: str, times: dict) -> None:
    """The baseline as a stage runs: open the file, run `sql` (autocommit), close it; the statement alone is
    kept in `times` (what a baseline timed on an open connection would be)."""
    con = duckdb.connect(path)
    con.execute("SET TimeZone = 'UTC'")
    times["statement"], _ = timed(lambda: con.execute(sql))
    con.close()


def _copy(source: Path, target: Path) -> Path:
    """A fresh copy of a ledger or baseline file, on disk before the clock starts (as each stage finds its file)."""
    shutil.copyfile(source, fresh(target))
    os.sync()
    return target


def in_child(stage: str, ledger_path: Path, inputs: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--ledger", str(ledger_path), "--inputs", str(inputs)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=("import", "rate", "settle"), help=argparse.SUPPRESS)
    parser.add_argument("--ledger", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=1_000_000)
    # one export file holds at most 1 GiB (the importer refuses bigger ones): 1M rows a file stays well under
    parser.add_argument("--files", type=int, help="how many export files (default: one per million calls)")
    parser.add_argument("--dir", default="/tmp/commcredits-bench/pipeline")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each stage and each baseline")
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.ledger, args.inputs)))
        return
    folder = Path(args.dir)
    args.files = args.files or max(1, -(-args.calls // 1_000_000))
    started = time.perf_counter()
    inputs = generate(folder / f"calls-{args.calls}", args.calls, args.files)
    print(
        f"{args.calls:,} calls in {len(inputs)} JSON lines file(s) ready in {time.perf_counter() - started:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )

    start = fresh(folder / "start.duckdb")
    ledger = cc.open_ledger(start)
    ledger.add_funds("1000.00", at=datetime(2024, 1, 1, tzinfo=UTC), order_id="opening")
    ledger.set_auto_recharge(amount="500.00", below="100.00")
    load_rate_card(ledger)
    load_included_minutes(ledger)
    del ledger
    files = [str(p) for p in inputs]
    floor_sql = {
        "import": f"CREATE TABLE calls AS SELECT * FROM read_json({files}, format = 'newline_delimited')",
        "rate": "CREATE TABLE rated AS SELECT id, startDateTime AS start_at, round(coalesce(charge, 0), 2) AS charge FROM calls",
        "settle": "CREATE TABLE running AS SELECT id, sum(charge) OVER (ORDER BY start_at, id) AS s FROM rated",
    }
    # Each stage and its baseline run --repeat times, alternately, each on a fresh copy of the file the stage before
    # left (ours and the baseline's); the best wall time of each counts, and the last copies go on to the next stage.
    ledger_before, floor_before = start, fresh(folder / "floor-start.duckdb")
    duckdb.connect(str(floor_before)).close()
    runs, floors, floor_cpus, statements = {}, {}, {}, {}
    for stage in ("import", "rate", "settle"):
        for _ in range(args.repeat):
            ledger_path = _copy(ledger_before, folder / f"ledger-{stage}.duckdb")
            run = in_child(stage, ledger_path, inputs[0].parent)
            if stage not in runs or run["seconds"] < runs[stage]["seconds"]:
                runs[stage] = run
            floor_path = _copy(floor_before, folder / f"floor-{stage}.duckdb")
            times = {}
            wall, cpu, _ = timed_cpu(partial(_floor_session, str(floor_path), floor_sql[stage], times))
            if stage not in floors or wall < floors[stage]:
                floors[stage], floor_cpus[stage], statements[stage] = wall, cpu, times["statement"]
        ledger_before, floor_before = ledger_path, floor_path
    stages = {stage: run["seconds"] for stage, run in runs.items()}
    cpus = {stage: run["cpu"] for stage, run in runs.items()}
    peaks = {stage: run["peak_mb"] for stage, run in runs.items()}
    print(
        f"imported {runs['import']['imported']:,} (quarantined {runs['import']['quarantined']:,}); rated "
        f"{runs['rate']['rated']}; settled {runs['settle']['settled']:,} calls, {runs['settle']['recharges']:,} "
        f"recharges, {runs['settle']['expired_lots']:,} lots expired, {runs['settle']['blocked']:,} blocked "
        f"(best of {args.repeat} each)"
    )
    if runs["import"]["imported"] != args.calls:  # a refused file would make every ratio meaningless
        sys.exit(
            f"only {runs['import']['imported']:,} of {args.calls:,} calls were imported: a file is quarantined whole, e.g. over the 1 GiB limit: use more --files"
        )

    total, floor = sum(stages.values()), sum(floors.values())
    print(
        f"{'stage':8} {'ours':>9} {'share':>6} {'baseline':>9} {'ratio':>6} {'peak RSS':>10}   "
        f"{'CPU ours':>9} {'baseline':>9} {'ratio':>6}   {'session':>8}   {'statement':>9} {'ratio':>6}"
    )
    for name in stages:
        print(
            f"{name:8} {stages[name]:8.3f}s {stages[name] / total:6.0%} {floors[name]:8.3f}s "
            f"{stages[name] / floors[name]:5.2f}x {peaks[name]:8,.0f} MB   {cpus[name]:8.2f}s "
            f"{floor_cpus[name]:8.2f}s {cpus[name] / floor_cpus[name]:5.2f}x   {runs[name]['session']:7.2f}s   "
            f"{statements[name]:8.2f}s {stages[name] / statements[name]:5.2f}x"
        )
    peak_stage = max(peaks, key=peaks.get)
    print(
        f"{'total':8} {total:8.2f}s {'':6} {floor:8.2f}s {total / floor:5.2f}x   peak RSS {peaks[peak_stage]:,.0f} MB "
        f"in {peak_stage} ({args.calls / total:,.0f} calls/s end to end; load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
