"""Readiness: for every user, can they dial out, and if not, why (in plain words) and what to do."""

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

from commcredits.credits.ledger import open_ledger
from commcredits.licensing.readiness import readiness, readiness_summary
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers_csv

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime(2025, 3, 1, tzinfo=timezone.utc)


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


def test_funded_tenant_readiness_names_exactly_what_each_user_misses():
    store = tenant(fund="50.00").store
    assert reasons(store) == {
        "aa-main@contoso.com": ["resource_account_no_calling_plan", "no_communication_credits_license"],
        "alice@contoso.com": ["no_communication_credits_license"],                  # E5 still needs it
        "bob@contoso.com": ["calling_plan_without_teams_phone", "no_phone_number", "no_communication_credits_license"],
        "carol@contoso.com": ["no_usage_location", "no_calling_capability", "no_communication_credits_license"],
        "dave@contoso.com": ["calling_plan_without_teams_phone", "no_phone_number"],  # MCOEV turned off in E5
        "erin@contoso.com": ["no_phone_number"],
        "o'brien@contoso.com": [],
    }
    table = readiness(store).set_index("user_principal_name")
    assert table.loc["o'brien@contoso.com", "can_dial_out"]
    assert not table.loc["alice@contoso.com", "can_dial_out"]


def test_reasons_and_fixes_are_plain_language():
    table = readiness(tenant(fund="50.00").store).set_index("user_principal_name")
    alice = table.loc["alice@contoso.com"]
    assert alice["reasons"] == ["Has no Communication Credits license, so calls paid from credits are blocked "
                                "(E5 users need it too)."]
    assert alice["fixes"] == ["Assign the Communication Credits license."]
    assert "usage location" in table.loc["carol@contoso.com", "reasons"][0]
    assert list(table.columns[:7]) == ["display_name", "department", "usage_location", "can_dial_out", "reasons",
                                       "fixes", "reason_codes"]


def test_without_funding_nobody_can_dial_out():
    store = tenant().store
    assert all("no_funds" in r for r in reasons(store).values())
    assert "has not bought any Communication Credits" in readiness(store)["reasons"][0][-1]


def test_zero_balance_blocks_everyone_again():
    ledger = tenant(fund="50.00")
    ledger.spend(Decimal("50.00"), at=NOW, usage_id="call-1")
    assert all(r[-1] == "zero_balance" for r in reasons(ledger.store).values())


def test_mca_tenants_are_billed_in_arrears_and_need_no_funding():
    store = tenant(agreement="MCA").store
    assert reasons(store)["o'brien@contoso.com"] == []


def test_calling_plan_users_without_phone_number_are_flagged():
    store = tenant(fund="50.00", phones=False).store
    assert "no_phone_number" in reasons(store)["o'brien@contoso.com"]


def test_summary_counts_and_sentence():
    summary = readiness_summary(tenant(fund="50.00").store)
    assert (summary.users, summary.ready, summary.not_ready) == (7, 1, 6)
    assert summary.by_reason == {"no_communication_credits_license": 4, "no_phone_number": 3,
                                 "calling_plan_without_teams_phone": 2, "no_usage_location": 1,
                                 "no_calling_capability": 1, "resource_account_no_calling_plan": 1}
    assert summary.sentence == (
        "6 users cannot dial out: 4 lack a Communication Credits license, 3 have a Calling Plan but no phone number, "
        "2 have a Calling Plan without Teams Phone, 1 has no usage location, 1 has no Audio Conferencing or "
        "Calling Plan, 1 is a resource account without a Calling Plan.")


def test_summary_of_an_empty_tenant_says_what_to_do():
    assert readiness_summary(open_ledger(currency="USD").store).sentence.startswith("No users imported yet")


def test_only_not_ready_filter():
    table = readiness(tenant(fund="50.00").store, only_not_ready=True)
    assert "o'brien@contoso.com" not in set(table["user_principal_name"]) and len(table) == 6
