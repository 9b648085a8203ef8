"""Importing Graph users, subscribedSkus and phone numbers: atomic, validated, with history."""

import json
from pathlib import Path

import pytest

from commcredits.errors import TenantImportError
from commcredits.licensing.tenant import (
    import_graph_tenant,
    import_phone_numbers,
    import_phone_numbers_csv,
    import_users_csv,
)
from commcredits.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "graph"
USERS = FIXTURES / "users.json"
SKUS = FIXTURES / "subscribed_skus.json"
E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
CREDITS = "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0"


def user(n, upn, location="US", skus=(E5,), **extra):
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "userPrincipalName": upn,
        "displayName": upn.split("@")[0],
        "usageLocation": location,
        "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in skus],
        **extra,
    }


def snapshot(store):
    return store.query("SELECT user_principal_name, usage_location FROM tenant_user ORDER BY 1")


def test_graph_export_imports_users_licenses_and_seats():
    store = Store()
    result = import_graph_tenant(store, USERS, SKUS)
    assert (result.users, result.licenses, result.skus) == (7, 14, 7)
    assert store.query(
        "SELECT department, country FROM tenant_user WHERE user_principal_name = 'alice@contoso.com'"
    ) == [("Sales", "United States")]
    seats = dict(store.query("SELECT sku_part_number, free_units FROM sku_seats"))
    assert seats["MCOEV"] == 0 and seats["SPE_E5"] == 6


def test_folder_of_pages_imports_the_same_as_one_file():
    one, pages = Store(), Store()
    import_graph_tenant(one, USERS, SKUS)
    import_graph_tenant(pages, FIXTURES / "users_pages", SKUS)
    assert snapshot(one) == snapshot(pages)


def test_last_page_still_pointing_to_a_next_page_is_refused():
    page = json.loads((FIXTURES / "users_pages" / "page-001.json").read_text())
    with pytest.raises(TenantImportError, match="more pages follow"):
        import_graph_tenant(Store(), page)


def test_plain_dicts_are_accepted():
    store = Store()
    import_graph_tenant(
        store,
        {"value": [user(1, "a@contoso.com")]},
        [{"skuId": E5, "skuPartNumber": "SPE_E5", "prepaidUnits": {"enabled": 5}, "consumedUnits": 1}],
    )
    assert snapshot(store) == [("a@contoso.com", "US")]


def test_resource_accounts_are_flagged():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    flagged = store.query("SELECT user_principal_name FROM user_licensing WHERE is_resource_account")
    assert flagged == [("aa-main@contoso.com",)]


def test_malformed_json_names_the_file_and_line(tmp_path):
    bad = tmp_path / "users.json"
    bad.write_text('{"value": [ {"id": "1",, } ]}')
    with pytest.raises(TenantImportError) as error:
        import_graph_tenant(Store(), bad)
    assert "users.json" in str(error.value) and "line 1" in str(error.value)


def test_every_bad_record_is_listed_and_nothing_is_imported():
    store = Store()
    import_graph_tenant(store, [user(1, "keep@contoso.com")])
    before = snapshot(store)
    users = [
        user(2, "ok@contoso.com"),
        user(3, "not-an-email", location="US"),
        user(4, "ok@contoso.com"),  # duplicate UPN
        user(5, "uk@contoso.com", location="UK"),  # UK is not ISO 3166 (GB is)
        user(6, "ghost@contoso.com", skus=("12345678-1234-1234-1234-123456789012",)),
    ]
    with pytest.raises(TenantImportError) as error:
        import_graph_tenant(store, users)
    problems = error.value.problems
    assert [(p.record, p.key, p.field) for p in problems] == [
        ("users record 2", "not-an-email", "userPrincipalName"),
        ("users record 3", "ok@contoso.com", "userPrincipalName"),
        ("users record 4", "uk@contoso.com", "usageLocation"),
        ("users record 5", "ghost@contoso.com", "assignedLicenses[0].skuId"),
    ]
    assert "duplicate user" in problems[1].message and "ISO 3166" in problems[2].message
    assert "unknown skuId" in problems[3].message
    assert "Nothing was imported" in str(error.value)
    assert snapshot(store) == before


def test_bad_subscribed_skus_are_named():
    with pytest.raises(TenantImportError) as error:
        import_graph_tenant(
            Store(),
            [user(1, "a@contoso.com")],
            [
                {"skuId": "nope", "skuPartNumber": "X", "prepaidUnits": {"enabled": 1}},
                {"skuId": E5, "skuPartNumber": "SPE_E5", "prepaidUnits": {"enabled": -1}},
            ],
        )
    assert [(p.field) for p in error.value.problems] == ["skuId", "prepaidUnits.enabled"]


def test_reimport_replaces_the_snapshot_and_keeps_history():
    store = Store()
    import_graph_tenant(store, [user(1, "a@contoso.com"), user(2, "b@contoso.com")])
    import_graph_tenant(store, [user(1, "a@contoso.com", skus=(E5, CREDITS)), user(3, "c@contoso.com", location="DE")])
    assert snapshot(store) == [("a@contoso.com", "US"), ("c@contoso.com", "DE")]
    history = store.query(
        "SELECT user_principal_name, kind, sku_part_number, import_id FROM license_history "
        "WHERE import_id = 2 ORDER BY change_id"
    )
    assert ("b@contoso.com", "user_removed", None, 2) in history
    assert ("c@contoso.com", "user_added", None, 2) in history
    assert ("a@contoso.com", "license_added", "MCOPSTNC", 2) in history
    assert ("b@contoso.com", "license_removed", "SPE_E5", 2) in history
    first = store.query("SELECT count(*) FROM license_history WHERE import_id = 1")[0][0]
    assert first == 6  # 2 users added, 2 usage locations, 2 licenses: the first import stays on record


def test_reimporting_the_same_export_records_no_changes():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    assert import_graph_tenant(store, USERS, SKUS).changes == 0


def test_users_csv_is_the_simple_alternative():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    result = import_users_csv(store, FIXTURES / "users.csv")
    assert result.users == 2
    assert store.query("SELECT user_principal_name, licenses FROM user_licensing ORDER BY 1") == [
        ("frank@contoso.com", ["MCOPSTNC", "SPE_E5"]),
        ("grace@contoso.com", ["ENTERPRISEPACK"]),
    ]


def test_users_csv_unknown_license_names_the_row(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("userPrincipalName,usageLocation,licenses\nx@contoso.com,US,E9_ULTRA\n")
    with pytest.raises(TenantImportError, match=r"u.csv row 1 \(x@contoso.com\): licenses: unknown license 'E9_ULTRA'"):
        import_users_csv(Store(), path)


def test_phone_numbers_are_validated_and_stored_as_e164():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    import_phone_numbers_csv(store, FIXTURES / "phone_numbers.csv")
    assert store.query(
        "SELECT user_principal_name, phone_number FROM user_licensing WHERE phone_number IS NOT NULL ORDER BY 1"
    ) == [("aa-main@contoso.com", "+14255550100"), ("o'brien@contoso.com", "+35315550100")]


def test_bad_phone_numbers_are_all_listed_and_nothing_changes():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    import_phone_numbers_csv(store, FIXTURES / "phone_numbers.csv")
    rows = [
        {"userPrincipalName": "alice@contoso.com", "phoneNumber": "425-555-0100"},
        {"userPrincipalName": "nobody@contoso.com", "phoneNumber": "+14255550101"},
        {"userPrincipalName": "bob@contoso.com", "phoneNumber": "+1 425 555 0100"},
        {"userPrincipalName": "carol@contoso.com", "phoneNumber": "+1 425 555 0100"},
    ]
    with pytest.raises(TenantImportError) as error:
        import_phone_numbers(store, rows)
    assert [(p.key, p.field) for p in error.value.problems] == [
        ("alice@contoso.com", "phoneNumber"),
        ("nobody@contoso.com", "userPrincipalName"),
        ("carol@contoso.com", "phoneNumber"),
    ]
    assert store.query("SELECT count(*) FROM user_phone_number")[0][0] == 2


def test_phone_number_changes_are_kept_in_history():
    store = Store()
    import_graph_tenant(store, USERS, SKUS)
    import_phone_numbers(store, [{"userPrincipalName": "bob@contoso.com", "phoneNumber": "+14255550111"}])
    import_phone_numbers(store, [{"userPrincipalName": "bob@contoso.com", "phoneNumber": "+14255550122"}])
    assert store.query(
        "SELECT old_value, new_value FROM license_history WHERE kind = 'phone_number_set' ORDER BY change_id"
    ) == [(None, "+14255550111"), ("+14255550111", "+14255550122")]
