"""Exports of a plan: Graph $batch bodies, PowerShell, CSV; golden files pin the exact output."""

import csv
import io
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from commcredits.credits.ledger import open_ledger
from commcredits.licensing.exports import (
    MAX_REQUESTS_PER_BATCH,
    export_csv,
    export_graph_batches,
    export_powershell,
    ps_quote,
)
from commcredits.licensing.plans import (
    add_audio_conferencing,
    add_communication_credits,
    make_ready,
    plan_license_changes,
)
from commcredits.licensing.tenant import import_graph_tenant, import_users_csv

GOLDEN = Path(__file__).parent / "golden"
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
CALLING_PLAN = "0dab259f-bf13-4952-b7f8-7db8f131b28d"
AUDIO_CONFERENCING = "0c266dff-15dd-4b49-8397-2bb16070ed52"
MCOEV_PLAN = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"


def graph_user(n, upn, name, location, licenses):
    return {
        "id": f"22222222-0000-4000-8000-{n:012d}",
        "userPrincipalName": upn,
        "displayName": name,
        "usageLocation": location,
        "assignedLicenses": licenses,
    }


def seats(sku, part, enabled, consumed):
    return {"skuId": sku, "skuPartNumber": part, "prepaidUnits": {"enabled": enabled}, "consumedUnits": consumed}


def golden_plan():
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("50.00"), at=datetime(2025, 3, 1, tzinfo=UTC), order_id="first")
    users = [
        graph_user(1, "o'brien@contoso.com", "Siobhan O'Brien", "IE", [{"skuId": E5, "disabledPlans": []}]),
        graph_user(2, "carol@contoso.com", "Carol Chen", None, [{"skuId": E3, "disabledPlans": []}]),
        graph_user(
            3,
            "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com",
            "Pat (guest)\nline two",
            "US",
            [{"skuId": E5, "disabledPlans": [MCOEV_PLAN]}, {"skuId": CALLING_PLAN, "disabledPlans": []}],
        ),
    ]
    skus = [
        seats(E5, "SPE_E5", 5, 2),
        seats(E3, "ENTERPRISEPACK", 5, 1),
        seats(CALLING_PLAN, "MCOPSTN1", 5, 1),
        seats(AUDIO_CONFERENCING, "MCOMEETADV", 5, 0),
    ]
    import_graph_tenant(ledger.store, users, skus)
    return plan_license_changes(ledger.store, "not_ready", make_ready(usage_location="US"))


def check_golden(name, text):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_graph_batch_golden():
    batches = export_graph_batches(golden_plan())
    check_golden("license_batches.json", json.dumps(batches, indent=2) + "\n")


def test_powershell_golden():
    check_golden("license_changes.ps1", export_powershell(golden_plan()))


def test_csv_lists_one_row_per_change_in_the_admin_centers_words():
    text = export_csv(golden_plan())
    rows = list(csv.DictReader(io.StringIO(text)))
    # headers an admin knows from the Microsoft 365 admin center, no Graph property names
    assert text.splitlines()[0] == (
        "Display name,Username,Change,License,String ID,GUID,Apps turned off,Usage location,Why"
    )
    assert not {"sku_id", "user_principal_name", "display_name", "action"} & set(rows[0])
    assert [(r["Username"], r["Change"], r["License"], r["String ID"], r["Usage location"]) for r in rows] == [
        ("carol@contoso.com", "Set usage location", "", "", "United States (US)"),
        ("carol@contoso.com", "Add license", "Audio Conferencing", "MCOMEETADV", ""),
        ("carol@contoso.com", "Add license", "Communication Credits", "MCOPSTNC", ""),
        ("pat_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Turn apps back on", "Microsoft 365 E5", "SPE_E5", ""),
        ("pat_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Add license", "Communication Credits", "MCOPSTNC", ""),
    ]
    assert rows[1]["GUID"] == AUDIO_CONFERENCING and rows[1]["Why"] == "Add Audio Conferencing"


def test_usage_location_patches_come_first_and_both_license_arrays_are_always_present():
    batches = export_graph_batches(golden_plan())
    first, second = batches
    # Carol needs a usage location and licenses: a sequential batch, the license after the location
    assert [(r["method"], r.get("dependsOn")) for r in first["requests"]] == [("PATCH", None), ("POST", ["1"])]
    assert first["requests"][0] == {
        "id": "1",
        "method": "PATCH",
        "url": "/users/22222222-0000-4000-8000-000000000002",
        "headers": {"Content-Type": "application/json"},
        "body": {"usageLocation": "US"},
    }
    # the others need one request each: a parallel batch, no dependsOn
    assert all(r["method"] == "POST" and r["url"].endswith("/assignLicense") for r in second["requests"])
    assert not any("dependsOn" in r for r in second["requests"])
    assert all(
        set(r["body"]) == {"addLicenses", "removeLicenses"}
        for b in batches
        for r in b["requests"]
        if r["method"] == "POST"
    )


def test_urls_and_powershell_address_users_by_object_id_whatever_their_name():
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("50.00"), at=datetime(2025, 3, 1, tzinfo=UTC), order_id="first")
    odd = ["$adele@contoso.com", "o'brien@contoso.com", "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"]
    import_graph_tenant(
        ledger.store,
        [graph_user(i, upn, upn, "US", [{"skuId": E5, "disabledPlans": []}]) for i, upn in enumerate(odd, start=1)],
    )
    plan = plan_license_changes(ledger.store, "everyone", add_communication_credits())
    urls = [r["url"] for b in export_graph_batches(plan) for r in b["requests"]]
    assert urls == [f"/users/22222222-0000-4000-8000-{i:012d}/assignLicense" for i in (1, 2, 3)]
    script = export_powershell(plan)
    assert "Set-MgUserLicense -UserId '22222222-0000-4000-8000-000000000001' -AddLicenses" in script
    assert "-UserId '$adele" not in script and "# $adele@contoso.com ($adele@contoso.com)" in script


def test_users_without_an_object_id_use_graphs_key_form(tmp_path):
    # A users CSV without ids: Graph's get-user page says a name starting with '$' needs /users('...')
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("50.00"), at=datetime(2025, 3, 1, tzinfo=UTC), order_id="first")
    csv_path = tmp_path / "users.csv"
    csv_path.write_text(
        "userPrincipalName,usageLocation,licenses\n$adele@contoso.com,US,SPE_E5\no'brien@contoso.com,US,SPE_E5\n",
        encoding="utf-8",
    )
    import_users_csv(ledger.store, csv_path)
    plan = plan_license_changes(ledger.store, "everyone", add_communication_credits())
    urls = [r["url"] for b in export_graph_batches(plan) for r in b["requests"]]
    assert urls == ["/users('$adele@contoso.com')/assignLicense", "/users('o%27%27brien@contoso.com')/assignLicense"]
    assert "Set-MgUserLicense -UserId 'o''brien@contoso.com'" in export_powershell(plan)


def test_batches_hold_at_most_twenty_requests():
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("50.00"), at=datetime(2025, 3, 1, tzinfo=UTC), order_id="first")
    users = [
        graph_user(i, f"user{i:02d}@contoso.com", f"User {i}", "US", [{"skuId": E5, "disabledPlans": []}])
        for i in range(45)
    ]
    import_graph_tenant(ledger.store, users)
    batches = export_graph_batches(plan_license_changes(ledger.store, "everyone", add_communication_credits()))
    assert [len(b["requests"]) for b in batches] == [20, 20, 5]
    assert MAX_REQUESTS_PER_BATCH == 20
    assert [r["id"] for r in batches[2]["requests"]] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    "text, quoted",
    [
        ("o'brien@contoso.com", "'o''brien@contoso.com'"),
        ("it\u2019s@contoso.com", "'it\u2019\u2019s@contoso.com'"),  # PowerShell also ends strings at curly quotes
        ("$(Remove-Item x)@contoso.com", "'$(Remove-Item x)@contoso.com'"),  # single quotes never expand
    ],
)
def test_powershell_quoting(text, quoted):
    assert ps_quote(text) == quoted


def test_powershell_connects_with_the_needed_scopes_and_sets_location_first():
    script = export_powershell(golden_plan())
    assert "Connect-MgGraph -Scopes User.ReadWrite.All, Organization.Read.All" in script
    lines = script.splitlines()
    carol = "'22222222-0000-4000-8000-000000000002'"
    location = lines.index(f"Update-MgUser -UserId {carol} -UsageLocation US")
    assert lines[location + 1].startswith(f"Set-MgUserLicense -UserId {carol} -AddLicenses @(")
    assert (
        "# Pat (guest) line two (pat_fabrikam.com#EXT#@contoso.onmicrosoft.com)" in lines
    )  # a newline in a name cannot break out of the comment


def test_every_chosen_user_is_in_the_plan_or_told_why_not_and_the_script_header_counts_right():
    """Issue 20: four users chosen, the plan covered three, nothing said why the fourth was missing, and the
    PowerShell header still spoke of "4 chosen users"."""
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("50.00"), at=datetime(2025, 3, 1, tzinfo=UTC), order_id="first")
    users = [
        graph_user(1, "o'brien@contoso.com", "Siobhan O'Brien", "IE", [{"skuId": E5, "disabledPlans": []}]),
        graph_user(2, "carol@contoso.com", "Carol Chen", "US", [{"skuId": E3, "disabledPlans": []}]),
        graph_user(3, "dan@contoso.com", "Dan Diaz", "US", [{"skuId": E3, "disabledPlans": []}]),
    ]
    import_graph_tenant(ledger.store, users, [seats(AUDIO_CONFERENCING, "MCOMEETADV", 5, 0)])
    chosen = ["carol@contoso.com", "dan@contoso.com", "o'brien@contoso.com", "ghost@contoso.com"]
    plan = plan_license_changes(ledger.store, chosen, add_audio_conferencing())
    in_plan = set(plan.changes["user_principal_name"])
    left_out = dict(zip(plan.left_out_users["user_principal_name"], plan.left_out_users["why"]))
    assert in_plan == {"carol@contoso.com", "dan@contoso.com"}
    assert left_out == {
        "o'brien@contoso.com": "already has what this change adds",  # E5 brings it
        "ghost@contoso.com": "not in the imported tenant",
    }
    assert in_plan | set(left_out) == set(chosen) and not in_plan & set(left_out)
    assert "1 user chosen already has what this change adds: o'brien@contoso.com." in plan.left_out
    header = export_powershell(plan).splitlines()[:4]
    assert '# Changes for 2 users. 2 users are not in this plan: see "Not in this plan, and why" in Step 1.' in header
