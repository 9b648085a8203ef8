"""Many tenants: one ledger file each (writers never wait for another tenant), one read-only view over all."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

import commcredits as cc
from commcredits.tenants import connect_all, list_tenants, open_tenant, query_all, tenant_path

JAN = datetime(2025, 1, 1, tzinfo=UTC)


def at(month: int, day: int = 1) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


@pytest.fixture
def workbook(tmp_path):
    folder = tmp_path / "tenants"
    contoso = open_tenant(folder, "contoso.onmicrosoft.com", currency="USD")
    contoso.add_funds("100.00", at=JAN, order_id="PO-1")
    contoso.spend("3.00", at=at(2), usage_id="c-1")
    contoso.spend("2.50", at=at(2, 9), usage_id="c-2")
    contoso.spend("1.25", at=at(3), usage_id="c-3")
    fabrikam = open_tenant(folder, "fabrikam", currency="EUR")
    fabrikam.add_funds("50.00", at=JAN, order_id="PO-1")  # the same order id in another tenant is another order
    fabrikam.spend("4.00", at=at(3), usage_id="c-1")
    return folder


def test_spend_by_tenant_and_month_across_every_tenant(workbook):
    assert list_tenants(workbook) == ["contoso.onmicrosoft.com", "fabrikam"]
    spend = query_all(
        workbook, "SELECT tenant, month::DATE AS month, sum(amount) AS amount FROM call_spend GROUP BY ALL ORDER BY ALL"
    )
    assert [tuple(r) for r in spend.itertuples(index=False)] == [
        ("contoso.onmicrosoft.com", datetime(2025, 2, 1).date(), Decimal("5.50")),
        ("contoso.onmicrosoft.com", datetime(2025, 3, 1).date(), Decimal("1.25")),
        ("fabrikam", datetime(2025, 3, 1).date(), Decimal("4.00")),
    ]
    currencies = query_all(workbook, "SELECT tenant, currency FROM tenants ORDER BY tenant")
    assert currencies["currency"].tolist() == ["USD", "EUR"]
    balances = query_all(workbook, "SELECT tenant, sum(amount) AS balance FROM entry GROUP BY ALL ORDER BY tenant")
    assert balances["balance"].tolist() == [Decimal("93.25"), Decimal("46.00")]


def test_the_cross_tenant_view_is_read_only_and_releases_the_files(workbook):
    with pytest.raises(duckdb.Error, match="read-only|read only"):
        query_all(workbook, "INSERT INTO tenant_00000.main.tenant VALUES ('USD', now())")
    # right after a query the admin writes without waiting
    ledger = cc.open_ledger(tenant_path(workbook, "fabrikam"), busy_timeout=0.5)
    ledger.spend("1.00", at=at(4), usage_id="c-2")
    assert query_all(workbook, "SELECT count(*) AS n FROM entry WHERE tenant = 'fabrikam'")["n"][0] == 3


def test_an_analyst_session_on_snapshots_never_locks_admins_out(workbook, tmp_path):
    con = connect_all(workbook, snapshots=tmp_path / "snapshots")
    ledger = cc.open_ledger(tenant_path(workbook, "contoso.onmicrosoft.com"), busy_timeout=0.5)
    ledger.spend("1.00", at=at(4), usage_id="c-4")  # while the analyst's connection stays open
    (spends,) = con.execute("SELECT count(*) FROM call_spend WHERE tenant LIKE 'contoso%'").fetchall()[0]
    assert spends == 3  # the snapshot, taken before the write
    con.close()


HOLD = """
import sys, time
from commcredits.store import Store
with Store(sys.argv[1]).transaction() as con:
    con.execute("INSERT INTO tenant VALUES ('USD', now())")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_writer_of_one_tenant_never_waits_for_a_writer_of_another(workbook):
    contoso, fabrikam = tenant_path(workbook, "contoso.onmicrosoft.com"), tenant_path(workbook, "fabrikam")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(contoso), "4"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        cc.open_ledger(fabrikam, busy_timeout=0.5).spend("1.00", at=at(5), usage_id="f-5")
        assert time.monotonic() - started < 3  # done while contoso is still held
        with pytest.raises(cc.LedgerBusy):  # the same tenant does wait, then gives up with nothing changed
            cc.open_ledger(contoso, busy_timeout=0.3)
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0


def test_a_tenant_name_must_be_a_plain_file_name(tmp_path):
    for bad in ("../escape", "a/b", "", ".hidden", "x.duckdb"):
        with pytest.raises(cc.InvalidInput) as error:
            open_tenant(tmp_path, bad)
        assert error.value.field == "tenant"
    with pytest.raises(cc.InvalidInput) as error:
        query_all(tmp_path / "missing", "SELECT 1")
    assert error.value.field == "folder"
