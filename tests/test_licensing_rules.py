"""Licensing rules as Microsoft states them (docs/licensing.md names each page), with real-shaped Graph JSON:
suites without Teams, bundles as one product and one seat, resource accounts, toll-free numbers, free seats by
active - warning - consumed, suspended subscriptions, and every telephony product of the SKU reference."""

import csv
import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import commcredits as cc
from commcredits.errors import SeatsExhausted
from commcredits.licensing.catalog import (
    COMMUNICATION_CREDITS_SKU,
    PAY_AS_YOU_GO_CALLING_PLAN_SKU,
    RESOURCE_ACCOUNT_SKU,
    SERVICE_PLAN_CAPABILITIES,
    TEAMS_PHONE_WITH_CALLING_PLAN_SKU,
    Capability,
    load_catalog,
)
from commcredits.licensing.exports import export_graph_batches
from commcredits.licensing.plans import (
    Change,
    add_teams_phone_and_calling_plan,
    plan_license_changes,
    record_plan_done,
)
from commcredits.licensing.readiness import license_seats, readiness, toll_free_resource_accounts
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers, is_toll_free
from commcredits.ui.licenses import LicensesForm

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2025, 3, 1, tzinfo=UTC)
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"  # ENTERPRISEPACK (has TEAMS1)
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"  # SPE_E5
E5_EEA_NO_TEAMS = "3271cf8e-2be5-4a09-a549-70fd05baaa17"  # O365_w/o_Teams_Bundle_M5: MCOEV, MCOMEETADV
M365_E3_NO_TEAMS = "dcf0408c-aaec-446c-afd4-43e3683943ea"  # Microsoft_365_E3_(no_Teams)
# Microsoft_365_E5_(no_Teams) is newer than the shipped reference: its subscribedSku (servicePlans) decides.
M365_E5_NO_TEAMS = "18a4bd3f-0b5b-4887-b04f-61dd0ee15f5e"
TEAMS1 = "57ff2da0-773e-42df-b2af-ffb7a2317929"
MCOEV_PLAN = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"
MCOMEETADV_PLAN = "3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40"
MCOPSTN1_PLAN = "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8"
BUNDLE = TEAMS_PHONE_WITH_CALLING_PLAN_SKU


def graph_user(n, upn, licenses, location="US", disabled=None):
    return {
        "id": f"33333333-0000-4000-8000-{n:012d}",
        "userPrincipalName": upn,
        "displayName": upn.split("@")[0],
        "usageLocation": location,
        "assignedLicenses": [{"skuId": s, "disabledPlans": (disabled or {}).get(s, [])} for s in licenses],
    }


def subscribed(sku, part, enabled, consumed, *, warning=0, suspended=0, status="Enabled", plans=None):
    row = {
        "capabilityStatus": status,
        "consumedUnits": consumed,
        "skuId": sku,
        "skuPartNumber": part,
        "appliesTo": "User",
        "prepaidUnits": {"enabled": enabled, "suspended": suspended, "warning": warning, "lockedOut": 0},
    }
    if plans is not None:
        row["servicePlans"] = [
            {"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"}
            for pid, name in plans
        ]
    return row


def tenant(users, skus, *, fund=True, phones=(), ledger=False, path=":memory:"):
    want_ledger, ledger = ledger, cc.open_ledger(path, currency="USD")
    if fund:
        ledger.add_funds(Decimal("50.00"), at=NOW, order_id="first")
    import_graph_tenant(ledger.store, {"value": users}, {"value": skus})
    if phones:
        import_phone_numbers(ledger.store, [{"userPrincipalName": u, "phoneNumber": p} for u, p in phones])
    return ledger if want_ledger else ledger.store


def codes(store):
    table = readiness(store)
    return dict(zip(table["user_principal_name"], table["reason_codes"]))


# ---------------------------------------------------------------------------------------------- no Teams


def test_suites_sold_without_teams_cannot_dial_out_without_a_teams_license():
    no_teams_e5 = subscribed(
        M365_E5_NO_TEAMS,
        "Microsoft_365_E5_(no_Teams)",
        5,
        1,
        plans=[(MCOEV_PLAN, "MCOEV"), (MCOMEETADV_PLAN, "MCOMEETADV")],
    )
    users = [
        graph_user(1, "eea@contoso.com", [E5_EEA_NO_TEAMS, COMMUNICATION_CREDITS_SKU]),
        graph_user(2, "e5noteams@contoso.com", [M365_E5_NO_TEAMS, COMMUNICATION_CREDITS_SKU]),
        graph_user(
            3,
            "e3noteams@contoso.com",
            [M365_E3_NO_TEAMS, "0c266dff-15dd-4b49-8397-2bb16070ed52", COMMUNICATION_CREDITS_SKU],
        ),
        graph_user(4, "teamsoff@contoso.com", [E5, COMMUNICATION_CREDITS_SKU], disabled={E5: [TEAMS1]}),
        graph_user(5, "e5@contoso.com", [E5, COMMUNICATION_CREDITS_SKU]),
    ]
    store = tenant(users, [no_teams_e5])
    found = codes(store)
    for upn in ("eea@contoso.com", "e5noteams@contoso.com", "e3noteams@contoso.com", "teamsoff@contoso.com"):
        assert found[upn] == ["no_teams_license"], upn
    assert found["e5@contoso.com"] == []
    row = readiness(store).set_index("user_principal_name").loc["eea@contoso.com"]
    assert row["has_teams_phone"] and row["has_audio_conferencing"] and not row["has_teams"]
    assert "Assign a Teams license" in row["fixes"][0]


def test_a_plan_for_a_user_without_teams_says_the_teams_license_is_still_missing():
    store = tenant(
        [graph_user(1, "eea@contoso.com", [M365_E3_NO_TEAMS])],
        [subscribed("0c266dff-15dd-4b49-8397-2bb16070ed52", "MCOMEETADV", 5, 0)],
    )
    plan = plan_license_changes(store, ["eea@contoso.com"], Change(audio_conferencing=True))
    assert list(plan.changes["sku_part_number"]) == ["MCOMEETADV"]
    # Audio Conferencing brings included dial-out minutes: the credits license is not needed to dial out
    # (only for calls beyond them), so the plan names only the Teams license as still missing (issue 20)
    assert plan.missing["eea@contoso.com"] == ("a Microsoft Teams license: assign one in the admin center",)
    assert plan.left_out == ()


# ---------------------------------------------------------------------------------------------- bundles


def bundle_tenant(seats=5, consumed=1, ledger=False, path=":memory:"):
    users = [graph_user(i, f"u{i}@contoso.com", [E3]) for i in (1, 2)]
    return tenant(
        users,
        [subscribed(E3, "ENTERPRISEPACK", 10, 2), subscribed(BUNDLE, "MCOTEAMS_ESSENTIALS", seats, consumed)],
        phones=[("u1@contoso.com", "+14255550101"), ("u2@contoso.com", "+14255550102")],
        ledger=ledger,
        path=path,
    )


def test_the_bundle_is_one_license_and_one_seat_even_when_the_tenant_owns_nothing_else():
    store = bundle_tenant()
    plan = plan_license_changes(store, "everyone", add_teams_phone_and_calling_plan(calling_plan_sku=BUNDLE))
    assert sorted(zip(plan.changes["user_principal_name"], plan.changes["sku_part_number"])) == [
        ("u1@contoso.com", "MCOTEAMS_ESSENTIALS"),
        ("u2@contoso.com", "MCOTEAMS_ESSENTIALS"),
    ]
    assert plan.problems == ()
    assigns = [r for b in export_graph_batches(plan) for r in b["requests"]]
    assert [r["body"]["addLicenses"] for r in assigns] == [[{"skuId": BUNDLE, "disabledPlans": []}]] * 2
    record_plan_done(store, plan)
    assert store.query("SELECT consumed_units, free_units FROM sku_seats WHERE sku_id = $s", {"s": BUNDLE}) == [(3, 2)]
    after = readiness(store).set_index("user_principal_name").loc["u1@contoso.com"]
    assert after["has_teams_phone"] and after["has_calling_plan"]


def test_one_bundle_seat_left_serves_one_user_and_says_so_once():
    store = bundle_tenant(seats=2, consumed=1)
    plan = plan_license_changes(store, "everyone", add_teams_phone_and_calling_plan(calling_plan_sku=BUNDLE))
    assert list(plan.changes["user_principal_name"]) == ["u1@contoso.com"]
    assert plan.left_out == (
        "Not enough free Teams Phone with Calling Plan seats: 1 user left out: u2@contoso.com. "
        "Buy more seats or choose fewer users.",
    )


@pytest.mark.parametrize(
    "bundle, part", [(BUNDLE, "MCOTEAMS_ESSENTIALS"), ("a6051f20-9cbc-47d2-930d-419183bf6cf1", "BUSINESS_VOICE_MED2")]
)
def test_a_tenant_owning_only_a_bundle_plans_teams_phone_and_a_calling_plan_with_it(bundle, part):
    """Issue 20: add_teams_phone_and_calling_plan() looked for standalone Teams Phone seats the tenant never
    bought. A tenant that owns only the bundle gets the bundle: one skuId, one seat per user."""
    users = [graph_user(i, f"u{i}@contoso.com", [E3]) for i in (1, 2)]
    store = tenant(
        users,
        [subscribed(E3, "ENTERPRISEPACK", 10, 2), subscribed(bundle, part, 5, 0)],
        phones=[("u1@contoso.com", "+14255550101"), ("u2@contoso.com", "+14255550102")],
    )
    for change in (add_teams_phone_and_calling_plan(), cc.make_ready(calling="calling_plan")):
        plan = plan_license_changes(store, "everyone", change)
        adds = plan.changes[
            (plan.changes["action"] == "add_license") & (plan.changes["sku_id"] != COMMUNICATION_CREDITS_SKU)
        ]
        assert adds.groupby("user_principal_name")["sku_id"].apply(list).to_dict() == {
            "u1@contoso.com": [bundle],
            "u2@contoso.com": [bundle],
        }
        assert not any("Teams Phone Standard" in p for p in plan.problems)


def test_step_1_offers_the_bundle_a_tenant_owns_and_plans_without_no_free_seats():
    form = LicensesForm(bundle_tenant(ledger=True))
    assert "Teams Phone with Calling Plan" in form.seats.value and "4</td>" in form.seats.value  # before planning
    assert form.calling_plan.value == BUNDLE
    assert form.calling_plan.label == "Teams Phone with Calling Plan (one license) · 4 available"
    form.choose(["u1@contoso.com"])
    form.teams_phone.value = True
    form.plan_button.click()
    assert form.plan is not None and form.plan.problems == ()
    assert "Add Teams Phone with Calling Plan" in form.plan_view.value
    assert "Teams Phone Standard" not in form.plan_view.value


# ---------------------------------------------------------------------------------------------- resource accounts


def resource_tenant(**where):
    """Four resource accounts: inbound only, dialling out on Pay-As-You-Go with credits, toll-free without and
    with a credits license. `where`: ledger=True for the Ledger, path= for a file."""
    users = [
        graph_user(1, "aa-toll@contoso.com", [RESOURCE_ACCOUNT_SKU]),
        graph_user(
            2, "aa-payg@contoso.com", [RESOURCE_ACCOUNT_SKU, PAY_AS_YOU_GO_CALLING_PLAN_SKU, COMMUNICATION_CREDITS_SKU]
        ),
        graph_user(3, "cq-tollfree@contoso.com", [RESOURCE_ACCOUNT_SKU, PAY_AS_YOU_GO_CALLING_PLAN_SKU]),
        graph_user(
            4,
            "cq-tollfree-ok@contoso.com",
            [RESOURCE_ACCOUNT_SKU, PAY_AS_YOU_GO_CALLING_PLAN_SKU, COMMUNICATION_CREDITS_SKU],
        ),
    ]
    skus = [
        subscribed(RESOURCE_ACCOUNT_SKU, "PHONESYSTEM_VIRTUALUSER", 25, 4),
        subscribed(
            PAY_AS_YOU_GO_CALLING_PLAN_SKU, "Microsoft_Teams_Calling_Plan_pay_as_you_go_(country_zone_1_US)", 10, 3
        ),
    ]
    phones = [
        ("aa-toll@contoso.com", "+14255550100"),
        ("aa-payg@contoso.com", "+14255550199"),
        ("cq-tollfree@contoso.com", "+18005550100"),
        ("cq-tollfree-ok@contoso.com", "+1 888 555 0123"),
    ]
    return tenant(users, skus, phones=phones, **where)


def test_inbound_only_resource_accounts_are_ready_and_toll_free_ones_need_communication_credits():
    """ "Microsoft Teams Phone Resource Account licenses": "A Microsoft calling plan isn't required unless you want
    to be able to dial out using that resource account"."""
    found = codes(resource_tenant())
    assert found["aa-toll@contoso.com"] == []  # only the free license and a service number: answers calls
    assert found["aa-payg@contoso.com"] == []
    assert found["cq-tollfree@contoso.com"] == ["toll_free_without_communication_credits"]
    assert found["cq-tollfree-ok@contoso.com"] == []
    # resource accounts never need a Teams license or Audio Conferencing
    assert not any(c in ("no_teams_license", "no_calling_capability") for cs in found.values() for c in cs)


def test_toll_free_resource_accounts_are_listed_for_alerts():
    listed = toll_free_resource_accounts(resource_tenant())
    assert list(listed["user_principal_name"]) == ["cq-tollfree-ok@contoso.com", "cq-tollfree@contoso.com"]
    assert list(listed["phone_number"]) == ["+18885550123", "+18005550100"]
    assert list(listed["has_communication_credits"]) == [True, False]
    assert is_toll_free("+448001234567") and not is_toll_free("+14255550100") and not is_toll_free("not a number")


def test_make_ready_never_gives_a_resource_account_a_paid_calling_plan():
    store = resource_tenant()
    for calling in ("audio_conferencing", "calling_plan"):
        plan = plan_license_changes(store, "everyone", cc.make_ready(calling=calling))
        assert not plan.changes["user_principal_name"].isin(["aa-toll@contoso.com", "aa-payg@contoso.com"]).any()
    chosen = plan_license_changes(store, ["aa-toll@contoso.com"], cc.make_ready(calling="calling_plan"))
    assert chosen.nothing_to_do
    assert chosen.left_out_users["why"].tolist() == ["already has what this change adds"]


def test_a_resource_account_dials_out_only_on_pay_as_you_go_with_communication_credits():
    """Teams Phone extensibility licensing: "Assign a Pay-As-You-Go Calling Plan license to any Teams Resource
    Account that uses a Calling Plan number for outbound PSTN calls"."""
    store = resource_tenant()
    domestic = Change(calling_plan=True, communication_credits=True)  # MCOPSTN1, the default
    plan = plan_license_changes(store, ["aa-toll@contoso.com"], domestic)
    assert plan.nothing_to_do and "only with a Pay-As-You-Go Calling Plan" in plan.left_out[0]
    payg = Change(calling_plan=True, communication_credits=True, calling_plan_sku=PAY_AS_YOU_GO_CALLING_PLAN_SKU)
    plan = plan_license_changes(store, ["aa-toll@contoso.com"], payg)
    assert sorted(plan.changes["sku_id"]) == sorted([PAY_AS_YOU_GO_CALLING_PLAN_SKU, COMMUNICATION_CREDITS_SKU])
    record_plan_done(store, plan)
    assert codes(store)["aa-toll@contoso.com"] == []


# ---------------------------------------------------------------------------------------------- free seats


def test_free_seats_are_active_minus_warning_minus_consumed_and_suspended_gives_none():
    ac = "0c266dff-15dd-4b49-8397-2bb16070ed52"
    mcoev = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
    store = tenant(
        [graph_user(i, f"u{i}@contoso.com", [E3]) for i in (1, 2, 3)],
        [
            subscribed(ac, "MCOMEETADV", 10, 5, warning=3),
            subscribed(mcoev, "MCOEV", 10, 2, suspended=10, status="Suspended"),
        ],
    )
    seats = dict(store.query("SELECT sku_part_number, free_units FROM sku_seats"))
    assert seats["MCOMEETADV"] == 2 and seats["MCOEV"] == 0
    plan = plan_license_changes(store, "everyone", Change(audio_conferencing=True, teams_phone=True))
    assert sorted(plan.changes.loc[plan.changes["sku_part_number"] == "MCOMEETADV", "user_principal_name"]) == [
        "u1@contoso.com",
        "u2@contoso.com",
    ]
    assert "MCOEV" not in set(plan.changes["sku_part_number"])
    shown = license_seats(store).set_index("sku_part_number")
    assert shown.loc["MCOMEETADV", "warning_units"] == 3 and shown.loc["MCOEV", "capability_status"] == "Suspended"


def test_seats_that_run_out_between_planning_and_applying_stop_the_apply():
    store = bundle_tenant(seats=3, consumed=1)
    plan = plan_license_changes(store, "everyone", add_teams_phone_and_calling_plan(calling_plan_sku=BUNDLE))
    with store.transaction() as con:
        con.execute("UPDATE tenant_sku SET warning_units = 1 WHERE sku_id = $s", {"s": BUNDLE})
    with pytest.raises(SeatsExhausted):
        record_plan_done(store, plan)


# ---------------------------------------------------------------------------------------------- catalog


def test_every_telephony_product_of_the_reference_is_known():
    catalog = load_catalog()
    assert catalog.product("d43177b5-475b-4880-92d4-d54c27b5efbd").capabilities() == {
        Capability.DOMESTIC_CALLING_PLAN
    }  # MCOPSTN5 "... Domestic Small"
    assert catalog.product("54a152dc-90de-4996-93d2-bc47e670fc06").capabilities() == {
        Capability.DOMESTIC_CALLING_PLAN
    }  # MCOPSTN5 (120 minutes)
    assert catalog.product("06b48c5f-01d9-4b18-9015-03b52040f51a").capabilities() == {
        Capability.PAY_AS_YOU_GO_CALLING_PLAN
    }  # MCOPSTNPP holds MCOPSTN3
    assert (
        Capability.AUDIO_CONFERENCING in catalog.product("5d505572-203c-4b83-aa9b-dab50fb46277").capabilities()
    )  # carries MCOMEETBASIC_GOV
    assert catalog.product(BUNDLE).is_bundle and catalog.product("a6051f20-9cbc-47d2-930d-419183bf6cf1").is_bundle
    assert not catalog.product(E5).is_bundle
    shipped = list(csv.DictReader((ROOT / "commcredits" / "data" / "sku_service_plans.csv").open(encoding="utf-8")))
    assert {r["service_plan_name"] for r in shipped} <= set(SERVICE_PLAN_CAPABILITIES)


def _extractor():
    spec = importlib.util.spec_from_file_location("extract_sku_catalog", ROOT / "scripts" / "extract_sku_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE_HEADER = [
    "Product_Display_Name",
    "String_Id",
    "GUID",
    "Service_Plan_Name",
    "Service_Plan_Id",
    "Service_Plans_Included_Friendly_Names",
]


def _reference(tmp_path, rows):
    path = tmp_path / "reference.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(REFERENCE_HEADER)
        writer.writerows(rows)
    return path


def test_the_extractor_keys_on_guid_strips_spaces_and_keeps_every_calling_plan(tmp_path):
    extractor = _extractor()
    source = _reference(
        tmp_path,
        [
            [
                "Skype for Business PSTN Usage Calling Plan",
                "MCOPSTNPP\u00a0",
                "06B48C5F-01D9-4B18-9015-03B52040F51A",
                "MCOPSTN3",
                "6b340437-d6f9-4dc5-8cc2-99163f7f83d6",
                "MCOPSTN3",
            ],
            [
                "Office 365 E3",
                "ENTERPRISEPACK",
                "6fd2c87f-b296-42f0-b197-1e91e994b900",
                "TEAMS1",
                "57ff2da0-773e-42df-b2af-ffb7a2317929",
                "Microsoft Teams",
            ],
            [
                "Office 365 E3",
                "ENTERPRISEPACK",
                "6fd2c87f-b296-42f0-b197-1e91e994b900",
                "MCOSTANDARD",
                "0feaeb32-d00e-4d66-bd5a-43b5b83db82c",
                "Skype for Business Online (Plan 2)",
            ],
        ],
    )
    skus, plans = extractor.build(extractor.read_rows(source))
    assert skus == [
        ("6fd2c87f-b296-42f0-b197-1e91e994b900", "ENTERPRISEPACK", "Office 365 E3"),
        ("06b48c5f-01d9-4b18-9015-03b52040f51a", "MCOPSTNPP", "Skype for Business PSTN Usage Calling Plan"),
    ]
    assert [(p[1], p[4]) for p in plans] == [("ENTERPRISEPACK", "TEAMS1"), ("MCOPSTNPP", "MCOPSTN3")]


def test_the_extractor_refuses_a_telephony_plan_nobody_classified(tmp_path):
    extractor = _extractor()
    # a hypothetical future plan name: the script must stop rather than ship it unclassified
    source = _reference(
        tmp_path,
        [
            [
                "Future Calling Plan",
                "MCOPSTN_FUTURE",
                "00000000-0000-4000-8000-000000000001",
                "MCOPSTN_FUTURE",
                "00000000-0000-4000-8000-000000000002",
                "Future",
            ]
        ],
    )
    with pytest.raises(extractor.UnclassifiedPlans, match="MCOPSTN_FUTURE"):
        extractor.build(extractor.read_rows(source))


def test_shipped_catalog_matches_the_reference_when_it_is_available():
    reference = ROOT.parent / "shared" / "reference" / "product-names-and-service-plan-identifiers.csv"
    if not reference.is_file():  # a clean clone has no shared folder; the data files are checked in
        reference = None
    if reference is not None:
        extractor = _extractor()
        skus, plans = extractor.build(extractor.read_rows(reference))
        shipped = list(csv.reader((ROOT / "commcredits" / "data" / "sku_service_plans.csv").open(encoding="utf-8")))[1:]
        assert [list(p) for p in plans] == shipped
    assert len(load_catalog().products) > 500  # the catalog ships inside the package either way
