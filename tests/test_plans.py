"""Plans of license changes: rules checked before anything is written; apply then re-plan is a no-op."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commcredits.credits.ledger import open_ledger
from commcredits.errors import InvalidInput, StalePlan
from commcredits.licensing.catalog import (
    AUDIO_CONFERENCING_SKU,
    COMMUNICATION_CREDITS_SKU,
    DOMESTIC_CALLING_PLAN_SKU,
    TEAMS_PHONE_SKU,
)
from commcredits.licensing.plans import (
    Change,
    Selection,
    add_communication_credits,
    add_teams_phone_and_calling_plan,
    make_ready,
    plan_license_changes,
    record_plan_done,
)
from commcredits.licensing.readiness import readiness
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers_csv

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
NOW = datetime(2025, 3, 1, tzinfo=UTC)
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def funded_fixture_tenant(fund=True):
    ledger = open_ledger(currency="USD")
    if fund:
        ledger.add_funds(Decimal("50.00"), at=NOW, order_id="first-order")
    import_graph_tenant(ledger.store, FIXTURES / "users.json", FIXTURES / "subscribed_skus.json")
    import_phone_numbers_csv(ledger.store, FIXTURES / "phone_numbers.csv")
    return ledger.store


def changes(plan):
    return sorted(
        zip(
            plan.changes["user_principal_name"],
            plan.changes["action"],
            plan.changes["sku_part_number"].fillna(""),
            plan.changes["usage_location"].fillna(""),
        )
    )


def test_make_everyone_ready_respects_every_rule():
    store = funded_fixture_tenant()
    plan = plan_license_changes(store, "not_ready", make_ready(usage_location="US"))
    assert changes(plan) == [
        # aa-main answers its service number: no Calling Plan, no credits (issue 20). Alice (E5) dials out within
        # the included minutes, so she is not "not ready"; Step 3 gives her the credits license for the rest.
        ("bob@contoso.com", "add_license", "MCOPSTNC", ""),
        ("carol@contoso.com", "add_license", "MCOMEETADV", ""),  # a way to call first ...
        ("carol@contoso.com", "add_license", "MCOPSTNC", ""),  # ... then credits are useful
        ("carol@contoso.com", "set_usage_location", "", "US"),
        ("dave@contoso.com", "add_license", "SPE_E5", ""),  # Teams Phone turned back on, no new seat
    ]
    dave = plan.changes[plan.changes["user_principal_name"] == "dave@contoso.com"].iloc[0]
    assert dave["disabled_plans"] == [] and "back on" in dave["why"]
    assert plan.problems == (
        "Not enough free Teams Phone Standard seats: 1 user left out: bob@contoso.com. Buy more seats or choose fewer users.",
        "3 users with a Calling Plan have no phone number; assign one in the Teams admin center: "
        "bob@contoso.com, dave@contoso.com, erin@contoso.com.",
    )
    # Bob gets the credits license but not Teams Phone: he is in the plan, with what he still misses, and
    # not also among the users the plan leaves out.
    assert plan.missing["bob@contoso.com"] == (
        "Teams Phone Standard: no free seats",
        "a phone number: assign one in the Teams admin center",
    )
    assert plan.left_out == (
        "1 user with a Calling Plan has no phone number; assign one in the Teams admin center: erin@contoso.com.",
    )
    assert set(plan.missing) | {"erin@contoso.com"} == {"bob@contoso.com", "dave@contoso.com", "erin@contoso.com"}


def test_usage_location_comes_before_licenses_in_the_plan():
    plan = plan_license_changes(funded_fixture_tenant(), ["carol@contoso.com"], make_ready(usage_location="US"))
    assert list(plan.changes["action"]) == ["set_usage_location", "add_license", "add_license"]


def test_no_license_without_a_usage_location():
    plan = plan_license_changes(funded_fixture_tenant(), ["carol@contoso.com"], make_ready())
    assert plan.nothing_to_do
    assert plan.problems[0].startswith("1 user has no usage location")
    assert list(plan.skipped["code"]) == ["no_usage_location"]


def test_no_credits_seats_before_the_first_funding():
    plan = plan_license_changes(funded_fixture_tenant(fund=False), ["alice@contoso.com"], add_communication_credits())
    assert plan.nothing_to_do
    assert plan.problems == (
        "No Communication Credits licenses are available yet (1 user needs one: "
        "alice@contoso.com). They come with the first purchase: record it in Step 2, then plan "
        "again.",
    )


def test_credits_only_for_users_who_can_call():
    plan = plan_license_changes(funded_fixture_tenant(), ["carol@contoso.com"], add_communication_credits("US"))
    assert plan.nothing_to_do
    assert "no Audio Conferencing or Calling Plan" in plan.problems[0]


def test_calling_plan_needs_teams_phone_and_never_exceeds_seats():
    # MCOEV has no free seat: Alice (E5) already has Teams Phone, Bob and Carol cannot get it.
    store = funded_fixture_tenant()
    plan = plan_license_changes(
        store,
        Selection(upns=("alice@contoso.com", "carol@contoso.com")),
        add_teams_phone_and_calling_plan(usage_location="US"),
    )
    assert changes(plan) == [("alice@contoso.com", "add_license", "MCOPSTN1", "")]
    assert any("Not enough free Teams Phone Standard seats" in p for p in plan.problems)
    assert any("1 user gets no Calling Plan because Teams Phone could not be assigned" in p for p in plan.problems)


def test_selection_by_department_and_unknown_names():
    store = funded_fixture_tenant()
    plan = plan_license_changes(store, Selection(department="sales"), add_communication_credits())
    assert set(plan.changes["user_principal_name"]) == {"alice@contoso.com"}
    plan = plan_license_changes(store, ["Alice@Contoso.com", "nobody@contoso.com"], add_communication_credits())
    assert set(plan.changes["user_principal_name"]) == {"alice@contoso.com"}
    assert plan.problems[0] == "1 user chosen are not in the imported tenant: nobody@contoso.com."


def test_remove_licenses():
    store = funded_fixture_tenant()
    plan = plan_license_changes(store, ["bob@contoso.com"], Change(remove_skus=(E3,)))
    assert changes(plan) == [("bob@contoso.com", "remove_license", "ENTERPRISEPACK", "")]
    record_plan_done(store, plan)
    assert store.query("SELECT consumed_units FROM tenant_sku WHERE sku_id = ?", [E3]) == [(1,)]


def test_bad_change_is_refused_naming_the_field():
    store = funded_fixture_tenant()
    with pytest.raises(InvalidInput) as error:
        plan_license_changes(store, "everyone", make_ready(usage_location="UK"))
    assert error.value.field == "usage_location"
    with pytest.raises(InvalidInput) as error:
        plan_license_changes(store, "everyone", Change(calling_plan=True, calling_plan_sku=E3))
    assert error.value.field == "calling_plan_sku"


def test_apply_records_the_plan_updates_the_snapshot_and_replanning_finds_nothing():
    store = funded_fixture_tenant()
    plan = plan_license_changes(store, "not_ready", make_ready(usage_location="US"))
    applied = record_plan_done(store, plan)
    assert applied.plan_id == 1 and applied.changes == 5
    again = plan_license_changes(store, "not_ready", make_ready(usage_location="US"))
    assert again.nothing_to_do and again.summary().startswith("Nothing to do.")
    ready = readiness(store).set_index("user_principal_name")["can_dial_out"]
    assert ready["alice@contoso.com"] and ready["carol@contoso.com"] and not ready["bob@contoso.com"]
    assert store.query("SELECT count(*) FROM license_plan_item WHERE plan_id = 1")[0][0] == 5
    assert store.query("SELECT kind, count(*) FROM license_history WHERE plan_id = 1 GROUP BY 1 ORDER BY 1") == [
        ("license_added", 3),
        ("license_plans_changed", 1),
        ("usage_location_set", 1),
    ]
    assert store.query("SELECT consumed_units FROM tenant_sku WHERE sku_part_number = 'MCOMEETADV'") == [(1,)]


def test_a_stale_plan_is_refused_and_changes_nothing():
    store = funded_fixture_tenant()
    plan = plan_license_changes(store, "not_ready", make_ready(usage_location="US"))
    import_graph_tenant(store, FIXTURES / "users.json")
    with pytest.raises(StalePlan, match="plan again"):
        record_plan_done(store, plan)
    assert store.query("SELECT count(*) FROM license_plan")[0][0] == 0


# ------------------------------------------------------------------------------------- properties

POOL = [E5, E3, TEAMS_PHONE_SKU, DOMESTIC_CALLING_PLAN_SKU, AUDIO_CONFERENCING_SKU, COMMUNICATION_CREDITS_SKU]
PARTS = ["SPE_E5", "ENTERPRISEPACK", "MCOEV", "MCOPSTN1", "MCOMEETADV", "MCOPSTNC"]
MCOEV_PLAN = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"

users_strategy = st.lists(
    st.tuples(st.sampled_from([None, "US", "GB"]), st.sets(st.sampled_from(POOL), max_size=3), st.booleans()),
    max_size=25,
)
seats_strategy = st.lists(st.integers(0, 8), min_size=len(POOL), max_size=len(POOL))
changes_strategy = st.sampled_from(
    [
        make_ready(),
        make_ready(usage_location="US"),
        make_ready("US", calling="calling_plan"),
        add_communication_credits("US"),
        add_teams_phone_and_calling_plan(usage_location="GB"),
        Change(audio_conferencing=True, communication_credits=True, usage_location="US"),
    ]
)


def random_tenant(users, seats, funded):
    ledger = open_ledger(currency="USD")
    if funded:
        ledger.add_funds(Decimal("10.00"), at=NOW, order_id="o")
    graph_users = []
    for i, (location, skus, e5_without_phone) in enumerate(users):
        graph_users.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "userPrincipalName": f"user{i:02d}@contoso.com",
                "usageLocation": location,
                "assignedLicenses": [
                    {"skuId": s, "disabledPlans": [MCOEV_PLAN] if s == E5 and e5_without_phone else []}
                    for s in sorted(skus)
                ],
            }
        )
    consumed = {s: sum(s in skus for _, skus, _ in users) for s in POOL}
    subscribed = [
        {"skuId": s, "skuPartNumber": p, "prepaidUnits": {"enabled": consumed[s] + free}, "consumedUnits": consumed[s]}
        for s, p, free in zip(POOL, PARTS, seats)
        if not (s == COMMUNICATION_CREDITS_SKU and not funded)
    ]
    import_graph_tenant(ledger.store, graph_users, subscribed)
    return ledger.store


def free_seats(store):
    return dict(store.query("SELECT sku_id, free_units FROM sku_seats"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=users_strategy, seats=seats_strategy, funded=st.booleans(), change=changes_strategy, not_ready=st.booleans()
)
def test_planning_never_exceeds_free_seats_and_keeps_the_rules(users, seats, funded, change, not_ready):
    store = random_tenant(users, seats, funded)
    free = free_seats(store)
    plan = plan_license_changes(store, Selection(not_ready_only=not_ready), change)
    held = set(store.query("SELECT user_id, sku_id FROM user_license"))
    adds = plan.changes[plan.changes["action"] == "add_license"]
    new = adds[
        pd.Series([(u, s) not in held for u, s in zip(adds["user_id"], adds["sku_id"])], index=adds.index, dtype=bool)
    ]
    for sku_id, count in new.groupby("sku_id").size().items():
        assert count <= free.get(sku_id, 0)
    record_plan_done(store, plan)
    after = readiness(store).set_index("user_id")
    touched = after.loc[sorted(set(adds["user_id"]))] if len(adds) else after.iloc[:0]
    assert touched["usage_location"].notna().all()  # location before licenses
    assert (
        ~touched["has_calling_plan"]
        | touched["has_teams_phone"]
        | ~touched.index.isin(new[new["sku_id"] == DOMESTIC_CALLING_PLAN_SKU]["user_id"])
    ).all()
    credited = new[new["sku_id"] == COMMUNICATION_CREDITS_SKU]["user_id"]
    assert (after.loc[list(credited), "has_audio_conferencing"] | after.loc[list(credited), "has_calling_plan"]).all()
    assert store.query("SELECT count(*) FROM sku_seats WHERE consumed_units > enabled_units")[0][0] == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    users=users_strategy, seats=seats_strategy, funded=st.booleans(), change=changes_strategy, not_ready=st.booleans()
)
def test_apply_then_replan_yields_nothing_to_do(users, seats, funded, change, not_ready):
    store = random_tenant(users, seats, funded)
    selection = Selection(not_ready_only=not_ready)
    record_plan_done(store, plan_license_changes(store, selection, change))
    assert plan_license_changes(store, selection, change).nothing_to_do


def test_an_mca_tenant_is_never_told_to_assign_a_credits_license_it_cannot_get():
    """ "Turn off Communication Credits auto recharge for MCA customers": credits are "not available to purchase
    for customers with MCA Calling and Audio Conferencing subscriptions"; usage is billed after use."""
    ledger = open_ledger(currency="USD", agreement="MCA")
    import_graph_tenant(ledger.store, FIXTURES / "users.json", FIXTURES / "subscribed_skus.json")
    import_phone_numbers_csv(ledger.store, FIXTURES / "phone_numbers.csv")
    store = ledger.store
    assert store.query("SELECT count(*) FROM sku_seats WHERE sku_id = $s", {"s": COMMUNICATION_CREDITS_SKU}) == [(0,)]
    for selection, change in (("everyone", add_communication_credits()), ("not_ready", make_ready("US"))):
        plan = plan_license_changes(store, selection, change)
        assert COMMUNICATION_CREDITS_SKU not in set(plan.changes["sku_id"])
        assert any("billed after use" in p for p in plan.problems)
        assert not any("come with the first funding" in p for p in plan.problems)


def test_apply_plan_is_a_deprecated_name_for_record_plan_done():
    """Issue 22: the function only records a plan as done; the old name still works for one release."""
    import commcredits as cc
    from commcredits.licensing.plans import apply_plan

    store = funded_fixture_tenant()
    plan = plan_license_changes(store, "not_ready", make_ready(usage_location="US"))
    with pytest.warns(DeprecationWarning, match="record_plan_done"):
        recorded = apply_plan(store, plan)
    assert recorded.plan_id == 1 and cc.apply_plan is apply_plan and cc.record_plan_done is record_plan_done
