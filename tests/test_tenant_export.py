"""The every-tenant Parquet dataset: reads back equal to query_all, and a second export rewrites only what changed."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from commcredits.tenant_export import ExportReport, dataset_glob, export_dataset
from commcredits.tenants import open_tenant, query_all


def at(month: int, day: int = 1) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


def call(i: int, when: datetime) -> dict:
    return {
        "id": f"call-{i}",
        "userPrincipalName": "adele@contoso.com",
        "startDateTime": when,
        "duration": 60,
        "charge": "0.40",
        "currency": "USD",
        "callType": "user_out",
        "licenseCapability": "MCOPSTNPP",
    }


@pytest.fixture
def workbook(tmp_path):
    folder = tmp_path / "tenants"
    contoso = open_tenant(folder, "contoso", currency="USD")
    contoso.add_funds("100.00", at=at(1), order_id="PO-1")
    from commcredits.usage.call_import import import_pstn_calls

    import_pstn_calls(contoso, [call(1, at(2)), call(2, at(3))])
    contoso.spend("3.00", at=at(2), usage_id="call-1")
    fabrikam = open_tenant(folder, "fabrikam", currency="EUR")
    fabrikam.add_funds("50.00", at=at(1), order_id="PO-1")
    fabrikam.spend("4.00", at=at(3), usage_id="c-1")
    return folder


def read_back(target, dataset: str, columns: str) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        frame = (
            con.sql(
                f"SELECT tenant, {columns} FROM read_parquet('{dataset_glob(target, dataset)}', "
                "hive_partitioning = true) ORDER BY ALL"
            )
            .to_arrow_table()
            .to_pandas()
        )
    return [tuple(r) for r in frame.astype(object).where(frame.notna(), None).itertuples(index=False)]


def ledger_rows(folder, table: str, columns: str) -> list[tuple]:
    frame = query_all(folder, f"SELECT tenant, {columns} FROM {table} ORDER BY ALL")
    return [tuple(r) for r in frame.astype(object).where(frame.notna(), None).itertuples(index=False)]


def test_the_dataset_reads_back_equal_to_query_all(workbook, tmp_path):
    target = tmp_path / "dataset"
    assert export_dataset(workbook, target).tenants_read == 2
    entry_columns = "entry_id, occurred_at, kind, amount, idempotency_key, lot_id, recorded_at"
    assert read_back(target, "entries", entry_columns) == ledger_rows(workbook, "entry", entry_columns)
    call_columns = "usage_id, start_at, charge, currency, user_principal_name, imported_at"
    assert read_back(target, "calls", call_columns) == ledger_rows(workbook, "pstn_call", call_columns)
    months = read_back(target, "calls", "month")
    assert months == [("contoso", "2025-02"), ("contoso", "2025-03")]


def test_a_second_export_rewrites_only_changed_tenants_and_months(workbook, tmp_path):
    target = tmp_path / "dataset"
    export_dataset(workbook, target)
    assert export_dataset(workbook, target) == ExportReport(tenants_read=0, tenants_skipped=2, files_written=0)
    fabrikam = open_tenant(workbook, "fabrikam")
    fabrikam.spend("1.00", at=at(5), usage_id="c-2")  # a new month of entries in one tenant
    report = export_dataset(workbook, target)
    assert report == ExportReport(tenants_read=1, tenants_skipped=1, files_written=1)
    columns = "entry_id, kind, amount"
    assert read_back(target, "entries", columns) == ledger_rows(workbook, "entry", columns)
