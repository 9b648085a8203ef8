"""Several processes on one ledger file (Voila runs one kernel per tab): nothing lost, nothing doubled."""

import multiprocessing
import subprocess
import sys
import textwrap
import time
from decimal import Decimal

import pytest

import commcredits as cc

WRITERS, ORDERS_EACH = 3, 8


def _writer(path, name, results):
    ledger = cc.open_ledger(path)
    for i in range(ORDERS_EACH):
        ledger.add_funds("10.00", at=None, order_id=f"{name}-order-{i}")
        ledger.add_funds("10.00", at=None, order_id=f"{name}-order-{i}")  # a double click
        ledger.spend("2.50", at=None, usage_id=f"{name}-call-{i}")
    results.put(("done", name))


def _reader(path, results):
    ledger = cc.open_ledger(path)
    balances = []
    for _ in range(15):
        balances.append(ledger.balance())
        time.sleep(0.02)  # a person refreshing a page, not a tight loop
    results.put(("read", min(balances) >= 0))


def test_writers_and_readers_at_once_all_succeed_and_nothing_is_counted_twice(tmp_path):
    path = str(tmp_path / "shared.duckdb")
    cc.open_ledger(path, currency="USD")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_writer, args=(path, f"tab{n}", results)) for n in range(WRITERS)]
    processes += [context.Process(target=_reader, args=(path, results)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    outcomes = [results.get(timeout=5) for _ in processes]
    assert sorted(o for o in outcomes if o[0] == "done") == [("done", f"tab{n}") for n in range(WRITERS)]
    assert all(ok for kind, ok in outcomes if kind == "read")
    ledger = cc.open_ledger(path)
    entries = ledger.entries()
    assert len(ledger.lots()) == WRITERS * ORDERS_EACH
    spends = sorted(entries.loc[entries["kind"] == "spend", "idempotency_key"])
    assert spends == sorted(f"usage:tab{n}-call-{i}" for n in range(WRITERS) for i in range(ORDERS_EACH))
    assert entries["occurred_at"].is_monotonic_increasing, entries[["entry_id", "occurred_at", "kind"]]
    assert entries["amount"].sum() == Decimal("7.50") * WRITERS * ORDERS_EACH
    assert ledger.balance(entries["occurred_at"].max().to_pydatetime()) == Decimal("7.50") * WRITERS * ORDERS_EACH


def test_a_process_holding_the_file_makes_writes_busy_and_changes_nothing(tmp_path):
    path = tmp_path / "held.duckdb"
    ledger = cc.open_ledger(path, busy_timeout=0.5)
    ledger.add_funds("20.00", at=None, order_id="A")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, time
            con = duckdb.connect({str(path)!r})
            print("holding", flush=True)
            time.sleep(60)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(cc.LedgerBusy, match="try again"):
            ledger.add_funds("5.00", at=None, order_id="B")
    finally:
        holder.kill()
        holder.wait()
    assert ledger.balance() == Decimal("20.00")
    assert ledger.add_funds("5.00", at=None, order_id="B").lot_id == 2
