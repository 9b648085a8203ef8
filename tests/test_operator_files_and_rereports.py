"""The admin center zip's Direct Routing file, connection fees, and rows Microsoft reports again with another
charge: each imported, shown and explained, nothing quarantined or changed silently (issue 24, items 5-7)."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import commcredits as cc
from commcredits.usage.call_import import ImportReport, import_pstn_calls, quarantined_rows
from commcredits.usage.charges import call_charges, calls_needing_attention

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
PSTN_HEADER = (
    "UsageId,Call ID,Conference ID,User Location,AAD ObjectId,UPN,User Display Name,Caller ID,Call Type,"
    "Number Type,Domestic/International,Destination Dialed,Destination Number,Start Time,End Time,"
    "Duration Seconds,Connection Fee,Charge,Currency,Capability"
)
PSTN_ROW = (
    "pstn-1,c1,,US,u1,adele@contoso.com,Adele Vance,+14255550101,user_out,User,International,Mexico,"
    "+525555555555,2025-03-03T09:15:08Z,2025-03-03T09:20:08Z,300,0.50,1.36,USD,MCOPSTNPP"
)
# Graph directRoutingLogRow fields as the admin center names them (Microsoft documents the fields, not the headers)
DR_HEADER = (
    "Id,Correlation ID,UPN,Display Name,Start Time,End Time,Duration,Caller Number,Callee Number,Call Type,"
    "Final SIP Code,SBC FQDN,Media bypass"
)
DR_ROW = (
    "dr-1,9f1e,adele@contoso.com,Adele Vance,2025-03-03T10:00:00Z,2025-03-03T10:03:00Z,180,+14255550101,"
    "+442079460000,dr_out,200,sbc1.contoso.com,true"
)


@pytest.fixture
def ledger():
    ledger = cc.open_ledger(currency="USD")
    ledger.add_funds("20.00", at=T0 - timedelta(days=1), order_id="A")
    return ledger


def export_zip(tmp_path, *, dr_rows=(DR_ROW,)):
    archive = tmp_path / "Calls.Export.7f3a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("PSTN.calls.2025-03-31.csv", f"{PSTN_HEADER}\n{PSTN_ROW}\n")
        zf.writestr("DirectRouting.calls.2025-03-31.csv", "\n".join((DR_HEADER, *dr_rows)) + "\n")
    return archive


def test_the_direct_routing_file_imports_as_billed_by_the_operator_never_drawn(ledger, tmp_path):
    report = import_pstn_calls(ledger, export_zip(tmp_path))
    assert report == ImportReport(imported=2, duplicates=0, quarantined=0, files=1)
    assert quarantined_rows(ledger).empty  # the zip no longer warns about an unknown file
    cc.rate_and_settle(ledger)
    calls = call_charges(ledger).set_index("usage_id")
    assert calls.loc["dr-1", "status"] == "operator" and calls.loc["dr-1", "credits_drawn"] == 0
    assert calls.loc["dr-1", "reason"] == "Billed by Direct Routing (sbc1.contoso.com), not from Communication Credits."
    assert calls.loc["pstn-1", "credits_drawn"] == Decimal("1.36")
    assert ledger.balance(at=T0 + timedelta(hours=2)) == Decimal("18.64")


def test_a_direct_routing_row_without_an_id_is_quarantined_with_its_line(ledger, tmp_path):
    bad = DR_ROW.replace("dr-1,", ",", 1)
    import_pstn_calls(ledger, export_zip(tmp_path, dr_rows=(DR_ROW, bad)))
    rows = quarantined_rows(ledger)
    assert rows["reason"].tolist() == ["missing row id (Graph id / CSV UsageId)"] and rows["row_number"].tolist() == [3]


def test_a_connection_fee_is_shown_with_its_call_and_listed_by_reconcile(ledger, tmp_path):
    import_pstn_calls(ledger, export_zip(tmp_path))
    cc.rate_and_settle(ledger)
    call = call_charges(ledger).set_index("usage_id").loc["pstn-1"]
    assert call["connection_charge"] == Decimal("0.50")
    assert call["reason"].endswith("Connection fee 0.50 USD reported apart.")
    result = cc.reconcile(ledger, "18.64", at=T0 + timedelta(hours=2))
    fees = [e for e in result.explanations if e.kind == "connection_fees"]
    assert len(fees) == 1 and "$0.50" in fees[0].text and fees[0].amount is None  # possible, not counted
    assert result.matches


def row(charge, *, fee=None, at=T0):
    return {
        "id": "r-1",
        "userPrincipalName": "adele@contoso.com",
        "startDateTime": at,
        "duration": 60,
        "charge": charge,
        "connectionCharge": fee,
        "currency": "USD",
        "callType": "user_out",
        "licenseCapability": "MCOPSTNPP",
    }


def test_a_row_reported_again_with_another_charge_keeps_the_first_and_says_so(ledger):
    import_pstn_calls(ledger, [row("1.00")])
    cc.rate_and_settle(ledger)
    report = import_pstn_calls(ledger, [row("1.50")])
    assert report.imported == 0 and report.duplicates == 1
    import_pstn_calls(ledger, [row("1.50")])  # the same second report again: listed once
    import_pstn_calls(ledger, [row("1.00")])  # the kept report again: nothing to list
    cc.rate_and_settle(ledger)
    assert ledger.balance(at=T0 + timedelta(hours=1)) == Decimal("19.00")  # the first charge stays drawn, nothing else
    attention = calls_needing_attention(ledger)
    assert attention["status"].tolist() == ["re_reported"]
    listed = attention.iloc[0]
    assert listed["usage_id"] == "r-1" and listed["attention_amount"] == Decimal("0.50")
    assert listed["user_principal_name"] == "adele@contoso.com" and listed["start_at"] is not None
    drawn = ledger.store.query("SELECT credits_drawn, difference FROM call_rereports")
    assert drawn == [(Decimal("1.00"), Decimal("0.50"))]  # the kept report was drawn; the later one is listed
    assert "again with 1.50 USD" in listed["reason"] and "first report: 1.00 USD" in listed["reason"]
    result = cc.reconcile(ledger, "19.00", at=T0 + timedelta(hours=1))
    again = [e for e in result.explanations if e.kind == "re_reported"]
    assert len(again) == 1 and again[0].text.startswith("1 call Microsoft reported again") and "$0.50" in again[0].text


def test_a_repeat_within_one_import_with_another_fee_is_listed_too(ledger):
    report = import_pstn_calls(ledger, [row("1.00", fee="0.10"), row("1.00", fee="0.20")])
    assert report.imported == 1 and report.duplicates == 1
    listed = calls_needing_attention(ledger)
    assert listed["status"].tolist() == ["re_reported"] and "connection fee 0.20" in listed.iloc[0]["reason"]
    assert ledger.store.query("SELECT connection_charge FROM pstn_call")[0][0] == Decimal("0.10")  # the first kept


def test_a_copy_that_only_leaves_out_the_connection_fee_is_not_a_re_report(ledger):
    import_pstn_calls(ledger, [row("1.00", fee="0.00")])
    import_pstn_calls(ledger, [row("1.00")])  # e.g. JSON lines without connectionCharge after a Graph page
    assert calls_needing_attention(ledger).empty


def test_the_usage_page_says_what_re_reported_calls_need(ledger):
    from commcredits.ui.attention import attention_heading_html

    import_pstn_calls(ledger, [row("1.00")])
    import_pstn_calls(ledger, [row("1.25")])
    heading, calls = attention_heading_html(ledger)
    assert calls == 1 and "1 call Microsoft reported again with another charge: $0.25 of difference" in heading
