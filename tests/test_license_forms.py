"""Steps 1 and 3 driven without a browser: pick users, plan, read the problems, apply, download."""

import base64
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import commcredits as cc
from commcredits.errors import SeatsExhausted
from commcredits.licensing.catalog import (
    AUDIO_CONFERENCING_SKU,
    DOMESTIC_CALLING_PLAN_SKU,
    INTERNATIONAL_CALLING_PLAN_SKU,
    TEAMS_PHONE_SKU,
)
from commcredits.licensing.readiness import readiness, readiness_summary
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers
from commcredits.ui import plan_form
from commcredits.ui.credit_licenses import CreditLicensesForm
from commcredits.ui.licenses import LicensesForm

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def sku(sku_id, part, enabled, consumed=0):
    return {"skuId": sku_id, "skuPartNumber": part, "prepaidUnits": {"enabled": enabled}, "consumedUnits": consumed}


def user(n, upn, name, department, location, *skus):
    return {
        "id": f"22222222-0000-4000-8000-{n:012d}",
        "userPrincipalName": upn,
        "displayName": name,
        "department": department,
        "usageLocation": location,
        "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in (E3, *skus)],
    }


# Five people of a small company: three cannot call phone numbers at all (one has no usage location),
# Dan has Teams Phone with a Calling Plan and a number, Eve has Audio Conferencing. Nobody has credits yet.
USERS = [
    user(1, "ada@fabrikam.com", "Ada Lovelace", "Sales", "US"),
    user(2, "ben@fabrikam.com", "Ben Okafor", "Sales", "US"),
    user(3, "cleo@fabrikam.com", "Cleo Martin", "Support", None),
    user(4, "dan@fabrikam.com", "Dan Smith", "Support", "GB", TEAMS_PHONE_SKU, DOMESTIC_CALLING_PLAN_SKU),
    user(5, "eve@fabrikam.com", "Eve Tanaka", "Finance", "US", AUDIO_CONFERENCING_SKU),
]
NO_WAY_TO_CALL = ["ada@fabrikam.com", "ben@fabrikam.com", "cleo@fabrikam.com"]


def fresh_tenant(path, *, audio_seats=10, phone_seats=5, agreement=None):
    """A new ledger file with the five users, seats for the standalone calling licenses and Dan's number."""
    ledger = cc.open_ledger(path, currency="USD", agreement=agreement)
    skus = [
        sku(E3, "ENTERPRISEPACK", 10, 5),
        sku(AUDIO_CONFERENCING_SKU, "MCOMEETADV", audio_seats, 1),
        sku(TEAMS_PHONE_SKU, "MCOEV", phone_seats, 1),
        sku(DOMESTIC_CALLING_PLAN_SKU, "MCOPSTN1", 5, 1),
        sku(INTERNATIONAL_CALLING_PLAN_SKU, "MCOPSTN2", 5, 0),
    ]
    import_graph_tenant(ledger.store, {"value": USERS}, {"value": skus})
    import_phone_numbers(ledger.store, [{"userPrincipalName": "dan@fabrikam.com", "phoneNumber": "+44 20 7946 0000"}])
    return ledger


@pytest.fixture
def ledger(tmp_path):
    return fresh_tenant(tmp_path / "tenant.duckdb")


def fund(ledger):
    """The first order of Communication Credits (it brings the licenses' seats)."""
    ledger.add_funds(Decimal("100.00"), at=datetime.now(UTC), order_id="first")


def plans_recorded(ledger):
    return ledger.store.query("SELECT count(*) FROM license_plan")[0][0]


def licenses_of(ledger, upn):
    frame = readiness(ledger.store)
    return set(frame.loc[frame["user_principal_name"] == upn, "licenses"].iloc[0])


def text(html_fragment):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_fragment)).replace("&#x27;", "'").strip()


# ---------------------------------------------------------------------------------------------- Step 1


def test_page_opens_with_who_cannot_dial_out(ledger):
    form = LicensesForm(ledger)
    top = text(form.readiness_box.value)
    # Dan (a Calling Plan and a number) and Eve (Audio Conferencing) dial out within their included minutes even
    # before any credits are bought (issue 20); the sentence says what calls beyond them need
    assert "Users 5 Can dial out 2 Cannot dial out 3" in top
    assert "2 users can call within their included minutes" in top
    assert readiness_summary(ledger.store).sentence in top
    assert len(form.user_list.options) == 5 and "Ada Lovelace · ada@fabrikam.com · cannot dial out" in [
        label for label, _ in form.user_list.options
    ]


def test_search_and_filters_narrow_the_list_and_picks_survive_filtering(ledger):
    form = LicensesForm(ledger)
    form.search.value = "FABRIKAM.com ben"
    assert [upn for _, upn in form.user_list.options] == ["ben@fabrikam.com"]
    form.user_list.value = ("ben@fabrikam.com",)
    form.search.value = ""
    form.department.value = "Support"
    assert [upn for _, upn in form.user_list.options] == ["cleo@fabrikam.com", "dan@fabrikam.com"]
    assert "1 user chosen · 2 of 5 shown · 1 chosen but hidden by the filters" in text(form.chosen_line.value)
    form.department.value = ""
    form.country.value = "-"  # no usage location yet
    assert [upn for _, upn in form.user_list.options] == ["cleo@fabrikam.com"]
    form.country.value = "GB"
    assert [upn for _, upn in form.user_list.options] == ["dan@fabrikam.com"]
    form.country.value = ""
    assert form.user_list.value == ("ben@fabrikam.com",)
    assert form.chosen == {"ben@fabrikam.com"}


def test_select_all_shown_adds_only_what_the_filters_show(ledger):
    form = LicensesForm(ledger)
    form.choose(["eve@fabrikam.com"])
    form.state.value = "no_calling_capability"
    assert [upn for _, upn in form.user_list.options] == NO_WAY_TO_CALL
    form.select_all.click()
    assert form.chosen == {*NO_WAY_TO_CALL, "eve@fabrikam.com"}
    form.clear_selection.click()
    assert form.chosen == set() and form.user_list.value == ()


def test_missing_choices_are_explained_beside_the_fields_and_nothing_is_planned(ledger):
    form = LicensesForm(ledger)
    form.plan_button.click()
    assert "Choose at least one user" in form.errors["users"].value
    assert "Choose Audio Conferencing, Teams Phone with a Calling Plan, or both" in form.errors["licenses"].value
    assert "Please fix the problems above" in form.status.value
    assert form.plan is None and form.plan_box.layout.display == "none"
    form.choose(["ada@fabrikam.com"])
    assert form.errors["users"].value == ""  # the error goes once the field is fixed
    assert plans_recorded(ledger) == 0


def test_plan_shows_changes_in_words_and_problems_before_anything_is_saved(tmp_path):
    ledger = fresh_tenant(tmp_path / "t.duckdb", phone_seats=2)  # one free Teams Phone seat
    form = LicensesForm(ledger)
    form.choose(NO_WAY_TO_CALL)
    form.teams_phone.value = True
    form.plan_button.click()
    shown = text(form.plan_view.value)
    assert "1 user: 2 licenses to add" in shown
    assert "Ada Lovelace ada@fabrikam.com Add Teams Phone Standard Add Domestic Calling Plan" in shown
    assert "Not enough free Teams Phone Standard seats: 1 user left out: ben@fabrikam.com" in shown
    assert "cleo@fabrikam.com. Choose a usage location for the plan" in shown
    assert form.apply_button.disabled is False
    assert plans_recorded(ledger) == 0 and licenses_of(ledger, "ada@fabrikam.com") == {"ENTERPRISEPACK"}


def test_usage_location_and_audio_conferencing_applied_update_readiness_and_the_list(ledger):
    form = LicensesForm(ledger)
    form.choose(NO_WAY_TO_CALL)
    form.audio_conferencing.value = True
    form.usage_location.value = "US"
    form.plan_button.click()
    assert "Cleo Martin cleo@fabrikam.com Set usage location to United States (US) Add Audio Conferencing" in text(
        form.plan_view.value
    )
    assert "cc-problems" not in form.plan_view.value
    form.apply_button.click()
    assert "Recorded as done: 4 changes for 3 users. Nothing was changed in Microsoft 365" in text(form.status.value)
    assert form.apply_button.disabled and form.apply_button.description == "Recorded"
    for upn in NO_WAY_TO_CALL:
        assert "MCOMEETADV" in licenses_of(ledger, upn)
    cleo = readiness(ledger.store).set_index("user_principal_name").loc["cleo@fabrikam.com"]
    assert cleo["usage_location"] == "US"
    # the header and the filters were re-read: nobody lacks a way to call now
    assert "have no Audio Conferencing or Calling Plan" not in text(form.readiness_box.value)
    form.state.value = "no_calling_capability"
    assert form.user_list.options == ()
    assert "No users match the search and filters · 3 users chosen" in text(form.chosen_line.value)


def test_calling_plan_choice_picks_the_license_and_is_shown_only_with_teams_phone(ledger):
    form = LicensesForm(ledger)
    assert form.calling_plan.layout.display == "none"
    form.teams_phone.value = True
    assert form.calling_plan.layout.display is None
    assert [label for label, _ in form.calling_plan.options] == [
        "Domestic Calling Plan · 4 available",
        "Domestic and International Calling Plan · 5 available",
        "Pay-As-You-Go Calling Plan · none owned",
        "Teams Phone with Calling Plan (one license) · none owned",
    ]
    form.calling_plan.value = INTERNATIONAL_CALLING_PLAN_SKU
    form.choose(["ada@fabrikam.com"])
    form.plan_button.click()
    assert "Add Teams Phone Standard Add Domestic and International Calling Plan" in text(form.plan_view.value)


def test_changing_a_choice_after_planning_hides_the_plan_so_it_cannot_be_applied(ledger):
    form = LicensesForm(ledger)
    form.choose(["ada@fabrikam.com"])
    form.audio_conferencing.value = True
    form.plan_button.click()
    assert form.plan is not None
    form.teams_phone.value = True
    assert form.plan is None and form.plan_box.layout.display == "none"
    assert "plan again" in form.status.value


def test_a_plan_made_before_another_apply_is_refused_in_words(ledger):
    first, second = LicensesForm(ledger), LicensesForm(ledger)  # two tabs on the same tenant
    for form in (first, second):
        form.choose(["ada@fabrikam.com"])
        form.audio_conferencing.value = True
        form.plan_button.click()
    second.apply_button.click()
    first.apply_button.click()
    assert "The tenant changed since this plan was made" in text(first.status.value)
    assert first.apply_button.disabled is False
    assert plans_recorded(ledger) == 1


@pytest.mark.parametrize(
    "error, expected",
    [
        (
            SeatsExhausted("The plan needs 3 MCOMEETADV seats but only 1 are free. Nothing was applied; plan again."),
            "only 1 are free. Nothing was applied",
        ),
        (
            cc.LedgerBusy("The ledger is busy (another tab or notebook is using it). Nothing was changed; try again."),
            "busy (another tab or notebook is using it)",
        ),
        (RuntimeError("disk on fire"), "Something went wrong (RuntimeError: disk on fire). Nothing was changed"),
    ],
)
def test_apply_failures_are_explained_in_the_form(ledger, monkeypatch, error, expected):
    form = LicensesForm(ledger)
    form.choose(["ada@fabrikam.com"])
    form.audio_conferencing.value = True
    form.plan_button.click()

    def refuse(store, plan):
        raise error

    monkeypatch.setattr(plan_form, "record_plan_done", refuse)
    form.apply_button.click()
    assert expected in text(form.status.value)
    assert "Traceback" not in form.status.value
    assert plans_recorded(ledger) == 0


def test_downloads_hold_the_graph_batch_powershell_and_csv_of_the_plan(ledger):
    form = LicensesForm(ledger)
    form.choose(["cleo@fabrikam.com"])
    form.audio_conferencing.value = True
    form.usage_location.value = "US"
    form.plan_button.click()
    links = dict(re.findall(r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', form.downloads.value))
    files = {name: base64.b64decode(data).decode() for name, data in links.items()}
    assert files == form.exports()
    batches = json.loads(files["step1-licenses-plan-graph-batch.json"])
    assert batches[0]["requests"][0]["body"] == {"usageLocation": "US"}  # location first, then licenses
    assert batches[0]["requests"][1]["body"]["addLicenses"][0]["skuId"] == AUDIO_CONFERENCING_SKU
    assert batches[0]["requests"][1]["dependsOn"] == ["1"]  # the batch Apply sends (issue 20)
    assert (
        "Update-MgUser -UserId '22222222-0000-4000-8000-000000000003' -UsageLocation US"
        in files["step1-licenses-plan.ps1"]
    )
    assert "cleo@fabrikam.com" in files["step1-licenses-plan.csv"].splitlines()[1]
    for label in ("Graph $batch (JSON)", "PowerShell script", "Spreadsheet (CSV)"):
        assert label in form.downloads.value


# ---------------------------------------------------------------------------------------------- Step 3


def test_before_funding_step3_says_to_fund_first_and_plans_nothing(ledger):
    form = CreditLicensesForm(ledger)
    assert "record the purchase in Step 2" in text(form.funding_notice.value)
    form.plan_button.click()
    shown = text(form.plan_view.value)
    assert "Nothing to change" in shown
    assert "No Communication Credits licenses are available yet (2 users need one" in shown
    assert form.apply_button.layout.display == "none" and form.downloads.value == ""


def test_bulk_after_funding_gives_credits_to_everyone_with_a_calling_license(ledger):
    fund(ledger)
    form = CreditLicensesForm(ledger)
    assert "A purchase is recorded in Step 2" in text(form.funding_notice.value)
    form.plan_button.click()
    shown = text(form.plan_view.value)
    assert "Dan Smith dan@fabrikam.com Add Communication Credits" in shown
    assert "Eve Tanaka eve@fabrikam.com Add Communication Credits" in shown
    assert (
        "2 users get no Communication Credits license because they have no Audio Conferencing or Calling Plan, "
        "so the license would not be used: ada@fabrikam.com, ben@fabrikam.com."
    ) in shown
    assert "has no usage location, so no license can be assigned: cleo@fabrikam.com" in shown
    form.apply_button.click()
    assert "MCOPSTNC" in licenses_of(ledger, "eve@fabrikam.com") and "MCOPSTNC" in licenses_of(
        ledger, "dan@fabrikam.com"
    )
    assert "Users 5 Can dial out 2 Cannot dial out 3" in text(form.readiness_box.value)


def test_one_user_is_picked_by_name_and_unknown_names_are_explained(ledger):
    fund(ledger)
    form = CreditLicensesForm(ledger)
    assert form.user.layout.display == "none"
    form.mode.value = "one"
    assert form.user.layout.display is None
    form.user.value = "Nobody Here"
    form.plan_button.click()
    assert "Choose a user from the list" in form.errors["user"].value and form.plan is None
    form.user.value = "Eve Tanaka (eve@fabrikam.com)"
    form.plan_button.click()
    assert form.errors["user"].value == ""
    assert text(form.plan_view.value).startswith("The plan 1 user: 1 license to add")
    assert list(form.plan.changes["user_principal_name"]) == ["eve@fabrikam.com"]


def test_mca_tenants_are_told_they_need_no_funding(tmp_path):
    form = CreditLicensesForm(fresh_tenant(tmp_path / "mca.duckdb", agreement="MCA"))
    assert "Microsoft Customer Agreement" in text(form.funding_notice.value)
    form.plan_button.click()
    # MCA tenants cannot buy credits and are billed after use: no credits license to assign (issue 20)
    assert form.plan.nothing_to_do and any("billed after use" in p for p in form.plan.problems)


def test_steps_1_then_3_leave_everyone_ready(ledger):
    step1 = LicensesForm(ledger)
    step1.state.value = "no_calling_capability"
    step1.select_all.click()
    step1.audio_conferencing.value = True
    step1.usage_location.value = "US"
    step1.plan_button.click()
    step1.apply_button.click()
    fund(ledger)
    step3 = CreditLicensesForm(ledger)
    step3.plan_button.click()
    assert step3.plan.problems == ()
    step3.apply_button.click()
    assert bool(readiness(ledger.store)["can_dial_out"].all())
    assert "All 5 users can dial out." in text(step3.status.value)
    assert "All 5 users can dial out." in text(step3.readiness_box.value)


def test_step_1_never_lists_a_user_both_in_the_plan_and_as_left_out(tmp_path):
    # No Teams Phone seat is free: Ada and Ben get Audio Conferencing but not Teams Phone with a Calling Plan.
    ledger = fresh_tenant(tmp_path / "tenant.duckdb", phone_seats=1)
    form = LicensesForm(ledger)
    assert "Teams Phone Standard" in form.seats.value and 'class="cc-none">0<' in form.seats.value  # before planning
    form.choose(["ada@fabrikam.com", "ben@fabrikam.com"])
    form.audio_conferencing.value = True
    form.teams_phone.value = True
    form.plan_button.click()
    table = form.plan_view.value.split('<table class="cc-table cc-plan-table">')[1]
    box = form.plan_view.value.split('<table class="cc-table cc-plan-table">')[0]
    assert "ada@fabrikam.com" in table and "ben@fabrikam.com" in table
    assert "ada@fabrikam.com" not in box and "ben@fabrikam.com" not in box
    assert "Not in this plan" not in form.plan_view.value
    # Audio Conferencing brings included minutes: credits are not "missing to dial out" (issue 20)
    assert form.plan.missing["ada@fabrikam.com"] == (
        "Teams Phone Standard: no free seats",
        "a Calling Plan: it needs Teams Phone, which had no free seat",
    )
    assert "Still missing" in table and "Teams Phone Standard: no free seats" in text(table)
