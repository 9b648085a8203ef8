"""Opening a ledger file: the schema is made once per version of the schema text (and of DuckDB), not on every
open; a file from another version gets the current schema when it is opened."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pandas as pd

import commcredits as cc
from commcredits.credits.settlement import settle
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


def _as_one_journal_table(path) -> None:
    """The file as versions before the split journal left it: every entry in one table named `entry`."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE journal AS SELECT * FROM entry")
        con.execute("DROP VIEW entry")
        con.execute("DROP TABLE entry_row")
        con.execute("DROP TABLE spend_entry")
        con.execute("ALTER TABLE journal RENAME TO entry")
        con.execute("COMMENT ON VIEW entries IS 'another version'")


def test_a_file_with_the_journal_in_one_table_keeps_every_entry_and_settles_on(tmp_path):
    """Spends settled before the split stay where they were (entry_row); calls settled after go to spend_entry; the
    view `entry` shows both once, so balances, lots and entries read as before."""
    path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(path, currency="USD")
    ledger.add_funds("25.00", at=datetime(2026, 11, 2, tzinfo=UTC), order_id="PO-1")
    calls = pd.DataFrame(
        {
            "usage_id": ["call-1", "call-2"],
            "start_at": [datetime(2026, 11, 3, 9, tzinfo=UTC), datetime(2026, 11, 3, 10, tzinfo=UTC)],
            "charge": ["1.25", "2.00"],
        }
    )
    settle(ledger, calls=calls)
    before = ledger.store.query("SELECT * FROM entry ORDER BY entry_id")
    _as_one_journal_table(path)

    ledger = cc.open_ledger(path)
    tables = dict(ledger.store.query("SELECT table_name, table_type FROM information_schema.tables"))
    assert tables["entry"] == "VIEW" and tables["entry_row"] == tables["spend_entry"] == "BASE TABLE"
    assert ledger.store.query("SELECT * FROM entry ORDER BY entry_id") == before
    assert ledger.store.query("SELECT count(*) FROM entry_row") == [(3,)]  # the purchase and both spends
    later = calls.assign(usage_id=["call-3", "call-1"], start_at=[datetime(2026, 11, 4, tzinfo=UTC)] * 2)
    report = settle(ledger, calls=later)  # call-1 is settled already: only call-3 is new
    assert report.settled == 1
    assert ledger.store.query("SELECT usage_id FROM spend_entry") == [("call-3",)]
    assert ledger.balance(datetime(2026, 11, 5, tzinfo=UTC)) == Decimal("20.50")
    assert ledger.store.query("SELECT count(*), count(DISTINCT entry_id) FROM entry") == [(4, 4)]
