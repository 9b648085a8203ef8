"""Analysts query a read-only snapshot: it never locks admins out, and it cannot write."""

import duckdb
import pandas as pd
import pytest

import commcredits as cc
from commcredits.analyst import connect_readonly, export_query


def test_snapshot_is_read_only_and_does_not_lock_the_ledger(writable_demo_db, tmp_path):
    con = connect_readonly(writable_demo_db, folder=tmp_path / "snapshots")
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("INSERT INTO tenant VALUES ('USD', now())")
    # the admin can still write while the analyst's connection stays open
    ledger = cc.open_ledger(writable_demo_db, busy_timeout=1)
    ledger.add_funds("10.00", at=None, order_id="while-analyst-reads")
    assert con.execute("SELECT count(*) FROM lots").fetchall()[0][0] == len(ledger.lots()) - 1
    con.close()


def test_exports_to_parquet_and_csv_keep_exact_amounts(writable_demo_db, tmp_path):
    con = connect_readonly(writable_demo_db, folder=tmp_path / "snapshots")
    parquet = export_query(con, "SELECT invoice_id, amount FROM invoices ORDER BY invoice_id", tmp_path / "inv.parquet")
    csv = export_query(con, "SELECT invoice_id, amount FROM invoices ORDER BY invoice_id", tmp_path / "inv.csv")
    expected = cc.open_ledger(writable_demo_db).invoices().sort_values("invoice_id")
    assert pd.read_parquet(parquet)["invoice_id"].tolist() == expected["invoice_id"].tolist()
    assert pd.read_csv(csv, dtype=str)["amount"].tolist() == [str(a) for a in expected["amount"]]
    with pytest.raises(cc.InvalidInput, match="parquet or .csv"):
        export_query(con, "SELECT 1", tmp_path / "inv.xlsx")
