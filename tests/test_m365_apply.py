"""Apply in Microsoft 365 through the real msgraph-sdk against the Graph stand-in: batches, retries, partial failures."""

import json

import pytest
from graph_standin import GraphStandin, StandinCredential
from test_license_forms import E3, NO_WAY_TO_CALL, USERS, fresh_tenant, sku, user

import commcredits as cc
from commcredits.errors import StalePlan
from commcredits.licensing.catalog import AUDIO_CONFERENCING_SKU, COMMUNICATION_CREDITS_SKU
from commcredits.licensing.exports import MAX_REQUESTS_PER_BATCH as MAX_BATCH
from commcredits.licensing.exports import export_graph_batches
from commcredits.licensing.plans import Change, plan_license_changes
from commcredits.licensing.readiness import readiness
from commcredits.m365.apply import apply_plan_m365
from commcredits.m365.connection import connect_m365

ADMIN = dict(
    roles=(), scp=("User.ReadWrite.All", "Organization.Read.All"), name="Megan Bowen", upn="megan@fabrikam.com"
)
AUDIO = Change(audio_conferencing=True, usage_location="US")


def tenant_skus(audio_seats=10):
    return [sku(E3, "ENTERPRISEPACK", 10, 5), sku(AUDIO_CONFERENCING_SKU, "MCOMEETADV", audio_seats, 1)]


@pytest.fixture
def ledger(tmp_path):
    return fresh_tenant(tmp_path / "tenant.duckdb")


def standin_for(ledger, **options):
    """A stand-in holding the same tenant the ledger imported (users and seats as Graph would report them)."""
    skus = [
        sku(s, p, e, c)
        for s, p, e, c in ledger.store.query(
            "SELECT sku_id, sku_part_number, enabled_units, consumed_units FROM tenant_sku"
        )
    ]
    for key, value in options.items():
        if key == "audio_seats":
            next(s for s in skus if s["skuId"] == AUDIO_CONFERENCING_SKU)["prepaidUnits"]["enabled"] = value
    return GraphStandin(users=USERS, skus=skus).start()


def batches_sent(standin):
    return [json.loads(json.dumps(b)) for b in standin.batch_bodies]


def licenses_in_ledger(ledger, upn):
    return readiness(ledger.store).set_index("user_principal_name").loc[upn, "licenses"]


def test_a_signed_in_admin_applies_a_plan_and_it_is_recorded_with_their_name(ledger):
    standin = standin_for(ledger)
    plan = plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO)
    report = apply_plan_m365(
        ledger, plan, connect_m365(credential=StandinCredential(**ADMIN), base_url=standin.base_url)
    )
    assert [r.status for r in report.results] == ["applied"] * 3
    assert report.summary() == "Microsoft 365 applied the changes for 3 of 3 users."
    # Microsoft 365 now has them: Cleo got her usage location before her license (sequential batch)
    cleo = next(u for u in standin.users if u["userPrincipalName"] == "cleo@fabrikam.com")
    assert cleo["usageLocation"] == "US" and AUDIO_CONFERENCING_SKU in {l["skuId"] for l in cleo["assignedLicenses"]}
    sequential = [b for b in standin.batch_bodies if any("dependsOn" in r for r in b["requests"])]
    assert [(r["method"], r["url"].split("/")[-1], r.get("dependsOn")) for r in sequential[0]["requests"]] == [
        ("PATCH", "22222222-0000-4000-8000-000000000003", None),
        ("POST", "assignLicense", ["1"]),
    ]
    assert all("/users/22222222-" in r["url"] for b in standin.batch_bodies for r in b["requests"])  # object ids
    # ... and the workbook recorded exactly that, with who did it
    history = ledger.store.query_df("SELECT applied_by, user_principal_name, kind FROM m365_license_history")
    assert set(history["applied_by"]) == {"Megan Bowen <megan@fabrikam.com>"}
    assert sorted(history["kind"]) == ["license_added"] * 3 + ["usage_location_set"]
    assert "MCOMEETADV" in licenses_in_ledger(ledger, "cleo@fabrikam.com")


def test_the_downloaded_batch_is_exactly_what_apply_sends(ledger):
    """Issue 20: one $batch. The file Step 1 offers for download (export_graph_batches) and the requests "Apply
    in Microsoft 365" sends to Graph are built by the same code, so the admin reviews what is sent."""
    standin = standin_for(ledger)
    plan = plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO)
    downloaded = json.loads(json.dumps(export_graph_batches(plan)))
    apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(**ADMIN), base_url=standin.base_url))
    assert batches_sent(standin) == downloaded
    assert any("dependsOn" in r for b in downloaded for r in b["requests"])  # the usage location goes first


def test_a_partly_failed_batch_records_only_what_graph_applied(ledger):
    standin = standin_for(ledger, audio_seats=2)  # one seat is taken: one free seat for three users
    plan = plan_license_changes(ledger.store, ["ada@fabrikam.com", "ben@fabrikam.com"], Change(audio_conferencing=True))
    # the local snapshot says there are seats (10); Microsoft 365 knows better
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    by_user = {r.user_principal_name: r for r in report.results}
    assert [r.status for r in report.results].count("applied") == 1
    failed = next(r for r in report.results if r.status == "failed")
    assert failed.message.startswith(
        "No free seats: Subscription with SKU Audio Conferencing does not have any available licenses."
    )
    assert failed.graph_status == 400
    assert report.changes_recorded == 1
    applied_upn = next(upn for upn, r in by_user.items() if r.status == "applied")
    assert "MCOMEETADV" in licenses_in_ledger(ledger, applied_upn)
    assert "MCOMEETADV" not in licenses_in_ledger(ledger, failed.user_principal_name)
    rows = ledger.store.query("SELECT user_principal_name, status FROM m365_apply_result ORDER BY 1")
    assert sorted(s for _, s in rows) == ["applied", "failed"]


def test_graph_errors_come_back_in_plain_words(ledger):
    standin = standin_for(ledger)
    standin.exclusive.append((AUDIO_CONFERENCING_SKU, E3))
    plan = plan_license_changes(ledger.store, ["ada@fabrikam.com"], Change(audio_conferencing=True))
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert "mutually exclusive" in report.results[0].message and report.results[0].status == "failed"
    standin.exclusive.clear()
    standin.requires[AUDIO_CONFERENCING_SKU] = COMMUNICATION_CREDITS_SKU
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert report.results[0].message.startswith("A service plan in this license needs another license first")
    standin.requires.clear()
    next(u for u in standin.users if u["userPrincipalName"] == "ada@fabrikam.com")["usageLocation"] = None
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert report.results[0].message.startswith("Missing usage location")
    assert report.note == "Nothing changed in Microsoft 365, so nothing was recorded."
    assert ledger.store.query("SELECT count(*) FROM m365_license_history")[0][0] == 0


def test_a_throttled_batch_is_sent_again_after_retry_after(ledger):
    standin = standin_for(ledger)
    standin.throttle.append({"match": "POST /v1.0/users/.*/assignLicense", "times": 2, "retry_after": 1})
    connection = connect_m365(credential=StandinCredential(), base_url=standin.base_url)
    plan = plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO)
    report = apply_plan_m365(ledger, plan, connection)
    assert [r.status for r in report.results] == ["applied"] * 3
    assert report.waited_seconds == 1.0 and [w.seconds for w in connection.waits] == [1.0]
    assert len(standin.requests("assignLicense")) == 3 + 2  # the two throttled ones, sent again
    assert len(standin.requests("PATCH|/users/22222222-0000-4000-8000-000000000003$")) == 1  # not re-sent


def test_a_failure_in_a_sequence_does_not_cost_the_next_users_their_change(tmp_path):
    people = [user(10 + i, f"p{i}@fabrikam.com", f"Person {i}", "Ops", None) for i in range(12)]
    ledger = cc.open_ledger(tmp_path / "big.duckdb", currency="USD")
    skus = tenant_skus(audio_seats=50)
    cc.import_graph_tenant(ledger.store, {"value": people}, {"value": skus})
    standin = GraphStandin(users=people, skus=skus).start()
    standin.fail.append({"match": "POST .*000000000010/assignLicense", "after": 0, "status": 400})
    plan = plan_license_changes(ledger.store, [p["userPrincipalName"] for p in people], AUDIO)
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert all(len(b["requests"]) <= MAX_BATCH for b in standin.batch_bodies)
    assert len(standin.batch_bodies[0]["requests"]) == 20  # 10 users: usage location, then licenses
    statuses = {r.user_principal_name: r.status for r in report.results}
    assert statuses.pop("p0@fabrikam.com") == "partly_applied"  # location set, license refused
    assert set(statuses.values()) == {"applied"}  # the 424s behind p0 were sent again
    assert report.changes_recorded == 12 + 11


def test_a_missing_permission_is_reported_per_user_and_nothing_is_recorded(ledger):
    standin = standin_for(ledger)
    plan = plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO)
    reader = StandinCredential(roles=["User.Read.All", "Organization.Read.All"])
    report = apply_plan_m365(ledger, plan, connect_m365(credential=reader, base_url=standin.base_url))
    assert {r.status for r in report.results} == {"failed"}
    assert all(r.message.startswith("Permission missing") for r in report.results)
    assert report.plan_id is None and ledger.store.query("SELECT count(*) FROM license_plan")[0][0] == 0


def test_a_stale_plan_sends_nothing(ledger):
    standin = standin_for(ledger)
    plan = plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO)
    cc.import_graph_tenant(ledger.store, {"value": USERS})
    with pytest.raises(StalePlan, match="Nothing was sent"):
        apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert standin.requests(r"\$batch") == []


def test_graph_failing_mid_way_still_records_what_it_applied_before(tmp_path):
    people = [user(10 + i, f"p{i}@fabrikam.com", f"Person {i}", "Ops", "US") for i in range(25)]
    ledger = cc.open_ledger(tmp_path / "big.duckdb", currency="USD")
    skus = tenant_skus(audio_seats=50)
    cc.import_graph_tenant(ledger.store, {"value": people}, {"value": skus})
    standin = GraphStandin(users=people, skus=skus).start()
    standin.fail.append({"match": r"POST /v1.0/\$batch", "after": 1, "status": 500})  # the second batch fails
    plan = plan_license_changes(ledger.store, [p["userPrincipalName"] for p in people], Change(audio_conferencing=True))
    report = apply_plan_m365(ledger, plan, connect_m365(credential=StandinCredential(), base_url=standin.base_url))
    assert len(report.applied) == 20 and len(report.failed) == 5
    assert all("500" in r.message for r in report.failed)
    assert report.changes_recorded == 20


def test_a_usage_location_not_yet_seen_by_licensing_is_tried_again(ledger):
    standin = standin_for(ledger)
    standin.location_lag = 1  # Microsoft 365 takes a moment to see the usage location it just set
    connection = connect_m365(credential=StandinCredential(), base_url=standin.base_url)
    report = apply_plan_m365(ledger, plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO), connection)
    assert [r.status for r in report.results] == ["applied"] * 3
    assert len(standin.requests("000000000003/assignLicense")) == 2 and report.waited_seconds == 2.0
