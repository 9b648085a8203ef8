"""Secrets and spreadsheets: no card number reaches the ledger file, no export runs a formula, analyst
snapshots are private to their user and cleaned up."""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import stat
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest
from billing_fields import CONTOSO_BILLING

import commcredits as cc
from commcredits import analyst
from commcredits.analyst import connect_readonly, export_query, remove_stale_snapshots, snapshot
from commcredits.credits.billing import BillingDetails, save_billing
from commcredits.credits.funding import OrderRequest, place_order, review_order
from commcredits.safety import looks_like_card_number, neutralise_formula

HOSTILE = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\tTAB", "\rCR"]
BILLING = CONTOSO_BILLING


# ---- card numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, card",
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("PO 378282246310005 (Amex)", True),
        ("6011111111111117", True),
        ("4222222222222", True),  # 13 digits
        ("4111111111111112", False),  # fails Luhn
        ("PO-2026-000123", False),
        ("123456789012", False),  # 12 digits
        ("DE123456789", False),
        ("+1 425 555 0100", False),
    ],
)
def test_card_numbers_are_recognised_by_length_and_luhn(text, card):
    assert looks_like_card_number(text) is card


@pytest.mark.parametrize("field", ["company", "address", "city", "postal_code", "tax_id", "po_number"])
def test_a_card_number_in_any_billing_field_is_refused_and_never_reaches_the_file(tmp_path, field):
    path = tmp_path / "ledger.duckdb"
    ledger = cc.open_ledger(path)
    details = BillingDetails(**{**BILLING, field: "4111 1111 1111 1111"})
    review, problems = review_order(ledger, OrderRequest("50.00", details, False), order_id="O-1")
    assert review is None and [p.field for p in problems] == [field] and "card number" in problems[0].message
    with pytest.raises(cc.InvalidDetails) as error:
        save_billing(ledger.store, details)
    assert error.value.field == field
    # the same order with a proper PO number is placed; the file never holds the card number in any form
    good, _ = review_order(
        ledger, OrderRequest("50.00", BillingDetails(**{**BILLING, "po_number": "PO-77"}), False), order_id="O-2"
    )
    place_order(ledger, good)
    del ledger
    data = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("ledger.duckdb.wal"))
    for form in (b"4111111111111111", b"4111 1111 1111 1111", "4111111111111111".encode("utf-16-le")):
        assert form not in data
    assert b"PO-77" in data  # the grep does see what was stored


# ---- formulas in exports ------------------------------------------------------------------------------------


def test_neutralise_formula_prefixes_only_formula_text():
    assert [neutralise_formula(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [neutralise_formula(v) for v in ("Zoë", "", None, 5, "a=b")] == ["Zoë", "", None, 5, "a=b"]


def _hostile_plan(tmp_path):
    ledger = cc.open_ledger(":memory:")
    users = {
        "value": [
            {
                "id": f"00000000-0000-0000-0000-00000000000{i}",
                "userPrincipalName": f"u{i}@contoso.com",
                "displayName": name,
                "usageLocation": "US",
                "accountEnabled": True,
                "assignedLicenses": [],
            }
            for i, name in enumerate(HOSTILE)
        ]
    }
    skus = {
        "value": [
            {
                "skuId": "0c266dff-15dd-4b49-8397-2bb16070ed52",
                "skuPartNumber": "MCOMEETADV",
                "prepaidUnits": {"enabled": 50},
                "consumedUnits": 0,
                "capabilityStatus": "Enabled",
                "servicePlans": [
                    {"servicePlanId": "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40", "servicePlanName": "MCOMEETADV"}
                ],
            }
        ]
    }
    cc.import_graph_tenant(ledger.store, users=users, subscribed_skus=skus)
    return ledger, cc.plan_license_changes(ledger.store, "everyone", cc.add_audio_conferencing())


def test_license_plan_csv_export_writes_formulas_as_text(tmp_path):
    _, plan = _hostile_plan(tmp_path)
    rows = list(csv.DictReader(io.StringIO(cc.export_csv(plan))))
    names = {r["Display name"] for r in rows}
    assert {"'" + v for v in HOSTILE[:4]} <= names  # (the import trims the tab and CR names)
    assert not any(str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for v in r.values())


def test_license_page_csv_download_writes_formulas_as_text(tmp_path):
    from commcredits.ui.long_list import download_link

    _, plan = _hostile_plan(tmp_path)
    link = download_link(cc.export_csv(plan), "plan.csv", "CSV", "text/csv", "cc-download")
    payload = base64.b64decode(re.search(r"base64,([^\"]+)", link).group(1)).decode("utf-8")
    cells = [v for row in csv.reader(io.StringIO(payload)) for v in row]
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in cells)
    assert "'@SUM(1+1)" in cells and "@SUM(1+1)" not in cells


def test_analyst_csv_export_writes_formulas_as_text_and_parquet_keeps_values(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($1::VARCHAR[]) AS name, -5 AS n", [HOSTILE])
    path = export_query(con, "SELECT name, n FROM t", tmp_path / "x.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert sorted(frame["name"]) == sorted("'" + v for v in HOSTILE)
    assert set(frame["n"]) == {"-5"}  # numbers stay numbers
    parquet = export_query(con, "SELECT name FROM t", tmp_path / "x.parquet")
    assert sorted(pd.read_parquet(parquet)["name"]) == sorted(HOSTILE)


# ---- analyst snapshots ---------------------------------------------------------------------------------------


def test_snapshots_are_private_to_the_user_and_stale_ones_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(analyst.tempfile, "gettempdir", lambda: str(tmp_path))
    source = tmp_path / "ledger.duckdb"
    cc.open_ledger(source).add_funds("10.00", at=None, order_id="A")
    first = snapshot(source)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(first.parent.stat().st_mode) == 0o700
    assert first.parent.name == f"commcredits-snapshots-{os.getuid()}"
    old = time.time() - 2 * 24 * 3600
    os.utime(first, (old, old))
    second = snapshot(source)
    assert not first.exists() and second.exists()
    assert remove_stale_snapshots(second.parent, datetime.now(UTC) + timedelta(days=2)) == 1
    con = connect_readonly(source)
    assert con.execute("SELECT count(*) FROM lots").fetchall() == [(1,)]
    con.close()
