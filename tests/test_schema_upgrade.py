"""Opening a ledger file: the schema is made once per version of the schema text (and of DuckDB), not on every
open; a file from another version gets the current schema when it is opened."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import duckdb

import commcredits as cc
from commcredits.store import schema_fingerprint


def _bytes(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_from_another_version_gets_the_current_schema_when_opened(tmp_path):
    path = tmp_path / "ledger.duckdb"
    cc.open_ledger(path).add_funds("25.00", at=datetime(2026, 11, 2, tzinfo=UTC), order_id="PO-1")
    with duckdb.connect(str(path)) as con:  # as another version left it: its own schema text, a view it lacked
        con.execute("COMMENT ON VIEW entries IS 'another version'")
        con.execute("DROP VIEW lots")
    ledger = cc.open_ledger(path)
    assert ledger.lots()["order_id"].tolist() == ["PO-1"]
    assert ledger.balance(datetime(2026, 11, 3, tzinfo=UTC)) == Decimal("25.00")
    assert ledger.store.query("SELECT comment FROM duckdb_views() WHERE view_name = 'entries'") == [
        (schema_fingerprint(),)
    ]


def test_opening_a_file_made_by_this_version_writes_nothing_to_it(tmp_path):
    path = tmp_path / "ledger.duckdb"
    cc.open_ledger(path).add_funds("25.00", at=datetime(2026, 11, 2, tzinfo=UTC), order_id="PO-1")
    before = _bytes(path)
    ledger = cc.open_ledger(path)
    assert _bytes(path) == before
    assert ledger.balance(datetime(2026, 11, 3, tzinfo=UTC)) == Decimal("25.00")


def test_a_file_whose_views_an_older_version_made_again_gets_this_versions_views_back(tmp_path):
    """Versions from before the fingerprint make their own views on every open and leave the fingerprint alone:
    reopened here, the file must not keep their views (and macros, and row keys)."""
    path = tmp_path / "ledger.duckdb"
    cc.open_ledger(path).add_funds("25.00", at=datetime(2026, 11, 2, tzinfo=UTC), order_id="PO-1")
    with duckdb.connect(str(path)) as con:  # as such a version's open: every view made again, its own way
        entries = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'entries'").fetchall()[0][0]
        con.execute(entries.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
        con.execute("CREATE OR REPLACE VIEW lots AS SELECT 1 AS lot_id")
    ledger = cc.open_ledger(path)
    assert ledger.lots()["order_id"].tolist() == ["PO-1"]
