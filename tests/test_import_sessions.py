"""A folder of call log files is imported over one connection held a few seconds at a time (Store.transactions),
small files several to a transaction: what is reported done is kept after a crash, a file that cannot be read
is quarantined alone, and a tab waiting to read or write still gets its turn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from test_call_charges import graph_row

import commcredits as cc
from commcredits import store as store_module
from commcredits.usage import call_checks, call_files
from commcredits.usage.call_import import import_pstn_calls, quarantined_rows

ROOT = Path(__file__).resolve().parents[1]


def write_day_files(folder: Path, files: int, rows_each: int) -> dict[str, set[str]]:
    """`files` JSON lines files of Graph rows, as daily exports; returns each file's row ids."""
    folder.mkdir()
    ids = {}
    for f in range(files):
        rows = [graph_row(f * rows_each + n, charge="0.10") for n in range(rows_each)]
        path = folder / f"calls-{f:03}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        ids[path.name] = {row["id"] for row in rows}
    return ids


def imported_ids(path: Path) -> set[str]:
    return {r[0] for r in cc.open_ledger(path).store.query("SELECT usage_id FROM pstn_call")}


def test_every_file_of_a_folder_reported_done_is_kept_when_the_import_is_killed(tmp_path):
    """The import keeps its connection between files; a file it finished is committed, and survives a kill -9
    of the process before the connection is closed (DuckDB replays its log on the next open)."""
    ids = write_day_files(tmp_path / "days", files=6, rows_each=20)
    ledger_path = tmp_path / "ledger.duckdb"
    cc.open_ledger(ledger_path, currency="USD")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        import commcredits as cc
        from commcredits.usage import call_files, call_import
        call_files.BATCH_BYTES = 0  # each file its own transaction, as big files are
        done = []
        real = call_import._import_file
        def reporting(run, file, label=None):
            report = real(run, file, label)
            done.append(file.name)
            print("done", file.name, flush=True)
            if len(done) == 3:  # a slow file: the connection and the lock are still held here
                time.sleep(60)
            return report
        call_import._import_file = reporting
        call_import.import_pstn_calls(cc.open_ledger({str(ledger_path)!r}), {str(tmp_path / "days")!r}, progress=False)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        reported = [child.stdout.readline().split()[1] for _ in range(3)]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert reported == ["calls-000.jsonl", "calls-001.jsonl", "calls-002.jsonl"]
    assert imported_ids(ledger_path) == set().union(*(ids[name] for name in reported))
    # the rest imports when the admin runs the import again, and nothing twice
    report = import_pstn_calls(cc.open_ledger(ledger_path), tmp_path / "days", progress=False)
    assert (report.imported, report.duplicates) == (60, 60)
    assert imported_ids(ledger_path) == set().union(*ids.values())


def test_tabs_waiting_to_read_or_write_get_their_turn_during_a_long_folder_import(tmp_path, monkeypatch):
    """Between files the import gives its lock up once it has held it HOLD_SECONDS, and waits TURN_SECONDS before
    taking it again: a page read and a purchase recorded in other tabs meanwhile wait, then go through; the
    import loses nothing."""
    ids = write_day_files(tmp_path / "days", files=60, rows_each=5)
    ledger_path = tmp_path / "ledger.duckdb"
    cc.open_ledger(ledger_path, currency="USD").add_funds("20.00", at=None, order_id="opening")
    monkeypatch.setattr(store_module, "HOLD_SECONDS", 0.2)
    monkeypatch.setattr(call_files, "BATCH_BYTES", 0)  # a transaction per file, as big files are
    real = store_module._HeldConnection.run

    def slow_run(held, work):  # each file takes a while, as big files do
        started.set()
        time.sleep(0.05)
        return real(held, work)

    monkeypatch.setattr(store_module._HeldConnection, "run", slow_run)
    started, reports = threading.Event(), []
    importer = threading.Thread(
        target=lambda: reports.append(import_pstn_calls(cc.open_ledger(ledger_path), tmp_path / "days", progress=False))
    )
    importer.start()
    try:
        assert started.wait(10)
        other_tab = cc.open_ledger(ledger_path, busy_timeout=2.0)
        balances = []
        for _ in range(3):  # a page refreshed now and then
            balances.append(other_tab.balance())
            time.sleep(0.1)
        other_tab.add_funds("50.00", at=None, order_id="bought-meanwhile")
        still_importing = importer.is_alive()
    finally:
        importer.join(60)
    assert still_importing, "the import ended before the other tab was done: make it longer"
    assert balances == [Decimal("20.00")] * 3
    assert reports and reports[0].imported == 300
    assert cc.open_ledger(ledger_path).balance() == Decimal("70.00")
    assert imported_ids(ledger_path) == set().union(*ids.values())


def test_a_file_that_fails_mid_import_rolls_back_alone_and_the_next_files_still_import(tmp_path, monkeypatch):
    """A transaction that fails gives its connection up (DuckDB may have invalidated it); the next file takes a
    new one, and the failed file's rows are not half there."""
    ids = write_day_files(tmp_path / "days", files=3, rows_each=10)
    ledger_path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(ledger_path, currency="USD")
    from commcredits.usage import call_import

    real = call_import.import_json_lines

    def second_file_breaks(con, files, labels):
        report = real(con, files, labels)  # its rows are inserted, then the transaction fails
        if files[0].name == "calls-001.jsonl":
            raise RuntimeError("disk full")
        return report

    monkeypatch.setattr(call_import, "import_json_lines", second_file_breaks)
    monkeypatch.setattr(call_files, "BATCH_BYTES", 0)
    with pytest.raises(RuntimeError, match="disk full"):
        import_pstn_calls(ledger, tmp_path / "days", progress=False)
    assert imported_ids(ledger_path) == ids["calls-000.jsonl"]
    monkeypatch.setattr(call_import, "import_json_lines", real)
    assert import_pstn_calls(ledger, tmp_path / "days", progress=False).imported == 20
    assert imported_ids(ledger_path) == set().union(*ids.values())


def test_small_files_import_several_to_a_transaction_and_an_unreadable_one_is_quarantined_alone(tmp_path):
    """Daily exports are small: several go in one transaction. An empty file among them sends each file of that
    batch on its own: the others import, the empty one is quarantined with the reason."""
    ids = write_day_files(tmp_path / "days", files=4, rows_each=10)
    (tmp_path / "days" / "calls-001b.jsonl").write_text("", encoding="utf-8")  # sorts between 001 and 002
    ledger = cc.open_ledger(tmp_path / "ledger.duckdb", currency="USD")
    assert [len(batch) for _, batch in call_files.file_batches(sorted((tmp_path / "days").iterdir()))] == [5]
    report = import_pstn_calls(ledger, tmp_path / "days", progress=False)
    assert (report.imported, report.quarantined, report.files) == (40, 1, 5)
    assert imported_ids(tmp_path / "ledger.duckdb") == set().union(*ids.values())
    quarantined = quarantined_rows(ledger)
    assert list(quarantined["source_file"].map(lambda f: Path(f).name)) == ["calls-001b.jsonl"]
    assert "empty" in quarantined["reason"].iloc[0]
    again = import_pstn_calls(ledger, tmp_path / "days", progress=False)  # a re-import: nothing twice
    assert (again.imported, again.duplicates, len(quarantined_rows(ledger))) == (0, 40, 1)


def source_files(path: Path) -> dict[str, str]:
    """Each imported row id with the name of the file it came from."""
    rows = cc.open_ledger(path).store.query("SELECT usage_id, source_file FROM pstn_call")
    return {usage_id: Path(source).name for usage_id, source in rows}


def test_clean_daily_files_read_together_keep_each_row_to_its_own_file(tmp_path, monkeypatch):
    """A batch of clean JSON lines files is read in one statement; every row still names the file it came from,
    and a file saved as UTF-16 by a Windows tool is read from its UTF-8 copy but named as the admin's file."""
    reads, real = [], call_checks.run_checked
    monkeypatch.setattr(
        call_checks, "run_checked", lambda *a, **k: reads.append(k.get("quick_params") or a[3]) or real(*a, **k)
    )
    ids = write_day_files(tmp_path / "days", files=3, rows_each=10)
    utf16 = tmp_path / "days" / "calls-003.jsonl"
    rows = [graph_row(900 + n, charge="0.20") for n in range(5)]
    utf16.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-16")
    ids[utf16.name] = {row["id"] for row in rows}
    path = tmp_path / "ledger.duckdb"
    report = import_pstn_calls(cc.open_ledger(path, currency="USD"), tmp_path / "days", progress=False)
    assert (report.imported, report.quarantined, report.files) == (35, 0, 4)
    assert source_files(path) == {i: name for name, members in ids.items() for i in members}
    assert len(reads) == 1 and [Path(label).name for label in reads[0][0]] == sorted(ids)


def test_a_batch_with_a_bad_line_or_a_row_seen_twice_is_read_file_by_file(tmp_path):
    """Anything to quarantine or a row id in two files sends each file of the batch the careful way: the bad line
    is quarantined with its file and line number, the repeated row is imported once (from the first file) and
    its other charge listed as a re-report; every other row imports."""
    ids = write_day_files(tmp_path / "days", files=3, rows_each=10)
    second = tmp_path / "days" / "calls-001.jsonl"
    lines = second.read_text(encoding="utf-8").splitlines()
    lines[3] = '{"id": "broken", "startDateTime": '  # line 4 is cut off
    again = graph_row(0, charge="0.30")  # the first file's first row, with another charge
    second.write_text("\n".join([*lines, json.dumps(again)]) + "\n", encoding="utf-8")
    path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(path, currency="USD")
    report = import_pstn_calls(ledger, tmp_path / "days", progress=False)
    assert (report.imported, report.duplicates, report.quarantined) == (29, 1, 1)
    quarantined = quarantined_rows(ledger)
    assert [(Path(f).name, n) for f, n in zip(quarantined["source_file"], quarantined["row_number"])] == [
        ("calls-001.jsonl", 4)
    ]
    kept = source_files(path)
    assert kept[again["id"]] == "calls-000.jsonl"
    assert set(kept) == set().union(*ids.values()) - {graph_row(13)["id"]}  # row 13 was line 4 of calls-001
    charges = ledger.store.query("SELECT charge FROM pstn_call WHERE usage_id = $1", [again["id"]])
    assert charges == [(Decimal("0.100000"),)]
    rereports = ledger.store.query("SELECT count(*) FROM pstn_call_rereport WHERE usage_id = $1", [again["id"]])
    assert rereports == [(1,)]
