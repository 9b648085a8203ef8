"""Versioned settings: saving appends a version, the latest holds, earlier ones stay."""

import pytest

import commcredits as cc
from commcredits.versioned import append_setting, latest_setting


def test_each_save_appends_a_version_and_the_latest_holds():
    ledger = cc.open_ledger(":memory:", currency="USD")
    with ledger.store.transaction() as con:
        first = append_setting(con, "agreement_change", {"agreement": "CSP"})
        second = append_setting(con, "agreement_change", {"agreement": "MCA"})
        assert second == first + 1
        assert latest_setting(con, "agreement_change", ["agreement"]) == ("MCA",)
        history = con.execute("SELECT agreement FROM agreement_change ORDER BY change_id").fetchall()
    assert [row[0] for row in history][-2:] == ["CSP", "MCA"]


def test_saving_the_same_values_again_writes_nothing_when_asked():
    ledger = cc.open_ledger(":memory:", currency="USD")
    with ledger.store.transaction() as con:
        before = con.execute("SELECT count(*) FROM agreement_change").fetchall()[0][0]
        version = append_setting(con, "agreement_change", {"agreement": "EA"}, unless_unchanged=True)
        again = append_setting(con, "agreement_change", {"agreement": "EA"}, unless_unchanged=True)
        after = con.execute("SELECT count(*) FROM agreement_change").fetchall()[0][0]
    assert again == version and after == before + 1


def test_only_known_settings_tables_are_written():
    ledger = cc.open_ledger(":memory:", currency="USD")
    with ledger.store.transaction() as con, pytest.raises(ValueError, match="not a versioned settings table"):
        append_setting(con, "entry", {"amount": 1})
