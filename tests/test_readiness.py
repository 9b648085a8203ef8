"""Readiness: for every user, can they dial out, and if not, why (in plain words) and what to do."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from commcredits.alerts.checks import run_checks
from commcredits.alerts.facts import read_facts
from commcredits.credits.agreement import how_to_add_credits
from commcredits.credits.ledger import open_ledger
from commcredits.licensing.readiness import readiness, readiness_summary
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers, import_phone_numbers_csv

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime(2025, 3, 1, tzinfo=UTC)


def tenant(agreement="MOSA", fund=None, phones=True):
    ledger = open_ledger(currency="USD", agreement=agreement)
    if fund is not None:
        ledger.add_funds(Decimal(fund), at=NOW, order_id="first-order")
    import_graph_tenant(ledger.store, FIXTURES / "users.json", FIXTURES / "subscribed_skus.json")
    if phones:
        import_phone_numbers_csv(ledger.store, FIXTURES / "phone_numbers.csv")
    return ledger


def reasons(store):
    table = readiness(store)
    return dict(zip(table["user_principal_name"], table["reason_codes"]))


def beyond(store):
    table = readiness(store)
    return dict(zip(table["user_principal_name"], table["beyond_included_codes"]))


def payg_user(ledger):
    """The fixture tenant plus a Teams Phone user on a Pay-As-You-Go Calling Plan: no included minutes, every
    call paid from credits."""
    users = json.loads((FIXTURES / "users.json").read_text(encoding="utf-8"))["value"]
    users.append(
        {
            "id": "44444444-0000-4000-8000-000000000001",
            "userPrincipalName": "payg@contoso.com",
            "displayName": "Pat",
            "usageLocation": "US",
            "assignedLicenses": [
                {"skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900", "disabledPlans": []},  # E3 (Teams)
                {"skuId": "e43b5b99-8dfb-405f-9987-dc307f34bcbd", "disabledPlans": []},  # Teams Phone
                {"skuId": "9b196e97-5830-4c2e-adc2-1e10ebf5dee5", "disabledPlans": []},
            ],
        }
    )  # PAYG calling plan
    import_graph_tenant(ledger.store, {"value": users}, FIXTURES / "subscribed_skus.json")
    phones = [
        ("o'brien@contoso.com", "+353 1 555 0100"),
        ("aa-main@contoso.com", "+14255550100"),
        ("payg@contoso.com", "+14255550111"),
    ]
    import_phone_numbers(ledger.store, [{"userPrincipalName": u, "phoneNumber": p} for u, p in phones])
    return ledger


def test_funded_tenant_readiness_names_exactly_what_each_user_misses():
    store = tenant(fund="50.00").store
    assert reasons(store) == {
        "aa-main@contoso.com": [],  # inbound-only resource account: needs no Calling Plan
        "alice@contoso.com": [],  # E5: dials out within the included minutes
        "bob@contoso.com": ["calling_plan_without_teams_phone", "no_phone_number"],
        "carol@contoso.com": ["no_usage_location", "no_calling_capability"],
        "dave@contoso.com": ["calling_plan_without_teams_phone", "no_phone_number"],  # MCOEV turned off in E5
        "erin@contoso.com": ["no_phone_number"],
        "o'brien@contoso.com": [],
    }
    # calls beyond the included minutes are paid from credits, and need the credits license
    assert beyond(store)["alice@contoso.com"] == ["no_communication_credits_license"]
    assert beyond(store)["aa-main@contoso.com"] == [] and beyond(store)["carol@contoso.com"] == []
    table = readiness(store).set_index("user_principal_name")
    assert (
        table.loc["alice@contoso.com", "can_dial_out"]
        and not table.loc["alice@contoso.com", "can_call_beyond_included"]
    )
    assert table.loc["o'brien@contoso.com", "can_call_beyond_included"]


def test_reasons_and_fixes_are_plain_language():
    table = readiness(tenant(fund="50.00").store).set_index("user_principal_name")
    alice = table.loc["alice@contoso.com"]
    assert alice["reasons"] == [] and alice["fixes"] == []
    assert alice["beyond_included"] == [
        "Has no Communication Credits license, so calls paid from credits (Pay-As-You-Go, international on a "
        "domestic plan, beyond the included minutes, toll-free) are blocked."
    ]
    assert "usage location" in table.loc["carol@contoso.com", "reasons"][0]
    assert list(table.columns[:7]) == [
        "display_name",
        "department",
        "usage_location",
        "can_dial_out",
        "reasons",
        "fixes",
        "reason_codes",
    ]


def test_without_funding_users_with_included_minutes_still_call_and_pay_as_you_go_users_cannot():
    """ "What are Communications Credits?": "Not all customers need to set up Communication Credits"; users can't
    call without them only once "you run out minutes for your organization"."""
    ledger = payg_user(tenant())
    found, past = reasons(ledger.store), beyond(ledger.store)
    assert found["o'brien@contoso.com"] == [] and past["o'brien@contoso.com"] == ["no_funds"]
    assert found["payg@contoso.com"] == ["no_communication_credits_license", "no_funds"]
    assert (
        "has not bought any Communication Credits"
        in readiness(ledger.store).set_index("user_principal_name").loc["payg@contoso.com", "reasons"][-1]
    )


def test_zero_balance_stops_calls_paid_from_credits_only():
    ledger = payg_user(tenant(fund="50.00"))
    ledger.spend(Decimal("50.00"), at=NOW, usage_id="call-1")
    assert reasons(ledger.store)["o'brien@contoso.com"] == []
    assert beyond(ledger.store)["o'brien@contoso.com"] == ["zero_balance"]
    assert reasons(ledger.store)["payg@contoso.com"][-1] == "zero_balance"


def test_mca_tenants_are_billed_after_use_and_need_no_credits_license_or_funding():
    ledger = payg_user(tenant(agreement="MCA"))
    assert reasons(ledger.store)["o'brien@contoso.com"] == [] and beyond(ledger.store)["alice@contoso.com"] == []
    assert reasons(ledger.store)["payg@contoso.com"] == []


def test_calling_plan_users_without_phone_number_are_flagged():
    store = tenant(fund="50.00", phones=False).store
    assert "no_phone_number" in reasons(store)["o'brien@contoso.com"]


def test_summary_counts_and_sentence():
    summary = readiness_summary(tenant(fund="50.00").store)
    assert (summary.users, summary.ready, summary.not_ready, summary.beyond_included) == (7, 3, 4, 1)
    assert summary.by_reason == {
        "no_phone_number": 3,
        "calling_plan_without_teams_phone": 2,
        "no_usage_location": 1,
        "no_calling_capability": 1,
    }
    assert summary.sentence == (
        "4 users cannot dial out: 3 have a Calling Plan but no phone number, 2 have a Calling Plan without Teams "
        "Phone, 1 has no usage location, 1 has no Audio Conferencing or Calling Plan. 1 user can call within the "
        "included minutes, but calls paid from credits (international on a domestic plan, beyond the included "
        "minutes, toll-free, Pay-As-You-Go) need more: 1 lacks a Communication Credits license."
    )


def test_summary_of_an_empty_tenant_says_what_to_do():
    assert readiness_summary(open_ledger(currency="USD").store).sentence.startswith("No users imported yet")


def test_only_not_ready_filter():
    table = readiness(tenant(fund="50.00").store, only_not_ready=True)
    assert "alice@contoso.com" not in set(table["user_principal_name"]) and len(table) == 4


@pytest.mark.parametrize("agreement", ["MOSA", "EA", "CSP"])
def test_what_to_do_without_credits_follows_how_the_tenant_buys(agreement):
    """CSP customers "can't acquire Communication Credits in the Microsoft 365 admin center" (their partner buys);
    an EA billed in another region may not be offered them. Readiness and the alerts say the same."""
    ledger = payg_user(tenant(agreement=agreement))
    fixes = readiness(ledger).set_index("user_principal_name").loc["payg@contoso.com", "fixes"]
    assert fixes[-1] == "Only for calls beyond their included minutes: " + how_to_add_credits(agreement)
    assert ("CSP partner" in fixes[-1]) == (agreement == "CSP")
    assert ("admin center" in fixes[-1]) == (agreement != "CSP")
    assert ("another region" in fixes[-1]) == (agreement == "EA")
    ledger.add_funds(Decimal("5.00"), at=NOW, order_id="o-1")
    ledger.spend(Decimal("5.00"), at=NOW, usage_id="call-1")
    zero = readiness(ledger).set_index("user_principal_name").loc["payg@contoso.com", "fixes"][-1]
    assert zero == how_to_add_credits(agreement, or_auto_recharge=True)
    alert = {a.check: a for a in run_checks(read_facts(ledger, now=NOW))}["runway"]
    assert alert.fix == zero
