"""The tenant from files, without Graph: admin center exports in, problems named by file, row and column."""

import csv
import io
import json

import pytest
from tenant_exports import PEOPLE, SEATS, active_users_csv, phone_numbers_csv, subscribed_skus_json

import commcredits as cc
from commcredits.licensing.catalog import load_catalog
from commcredits.licensing.tenant_files import UploadedFile, check_tenant_files, import_tenant_files
from commcredits.ui.credit_licenses import CreditLicensesForm
from commcredits.ui.licenses import LicensesForm


@pytest.fixture
def ledger(tmp_path):
    return cc.open_ledger(tmp_path / "ours.duckdb")


def sku(part):
    return load_catalog().by_part_number(part).sku_id


def held(ledger, upn):
    rows = ledger.store.query(
        "SELECT s.sku_part_number FROM user_license l JOIN tenant_user u USING (user_id) "
        "JOIN catalog_sku s USING (sku_id) WHERE u.user_principal_name = $1 ORDER BY 1",
        [upn],
    )
    return [r[0] for r in rows]


def snapshot(ledger):
    return ledger.store.query(
        "SELECT (SELECT count(*) FROM tenant_user), (SELECT count(*) FROM user_license), "
        "(SELECT count(*) FROM tenant_sku), (SELECT count(*) FROM user_phone_number), "
        "(SELECT count(*) FROM tenant_change), (SELECT count(*) FROM tenant_import)"
    )[0]


def day_one_files(people=PEOPLE):
    return [
        UploadedFile("users_2026_12_03.csv", active_users_csv(people)),
        UploadedFile("subscribedSkus.json", subscribed_skus_json(SEATS)),
        UploadedFile(
            "PhoneNumbers.csv",
            phone_numbers_csv(
                [("+1 425 555 0100", "Ben Berg", "User (subscriber)"), ("+1 800 555 0100", "", "Toll-free")]
            ),
        ),
    ]


def test_admin_center_exports_bring_in_users_licenses_seats_and_numbers(ledger):
    stored = import_tenant_files(ledger, day_one_files())
    assert [s for s, _ in stored] == ["users_2026_12_03.csv + subscribedSkus.json", "PhoneNumbers.csv"]
    assert held(ledger, "ada@fabrikam.com") == ["MCOPSTNC", "SPE_E5"]
    assert held(ledger, "ben@fabrikam.com") == ["MCOEV", "MCOPSTN1", "SPE_E3"]  # names as the admin center writes them
    assert held(ledger, "dev@fabrikam.com") == ["EMS", "SPE_E3"]  # a product name with "+" in it
    assert held(ledger, "elif@fabrikam.com") == []  # Unlicensed
    users = cc.readiness(ledger.store).set_index("user_principal_name")
    assert users.loc["carla@fabrikam.com", "usage_location"] == "DE"
    assert ledger.store.query("SELECT phone_number FROM user_phone_number") == [("+14255550100",)]
    seats = cc.license_seats(ledger.store).set_index("sku_id")
    assert seats.loc[sku("MCOEV"), "free_units"] == 4
    assert cc.readiness_summary(ledger.store).users == 5


def test_a_newer_export_updates_the_tenant_and_the_history_says_what_changed(ledger):
    import_tenant_files(ledger, day_one_files())
    newer = [p if p[0] != "Ben Berg" else (*p[:5], "Microsoft 365 E3+Microsoft Teams Phone Standard") for p in PEOPLE]
    newer.append(
        ("Femi Fischer", "femi@fabrikam.com", "0b1c2d3e-0000-4000-8000-000000000006", "FR", "Sales", "Microsoft 365 E5")
    )
    import_tenant_files(ledger, [UploadedFile("users_2026_12_10.csv", active_users_csv(newer))])
    assert held(ledger, "ben@fabrikam.com") == ["MCOEV", "SPE_E3"]
    assert cc.readiness_summary(ledger.store).users == 6
    assert cc.license_seats(ledger.store).set_index("sku_id").loc[sku("MCOEV"), "enabled_units"] == 5  # seats kept
    history = ledger.store.query("SELECT count(*) FROM tenant_change WHERE import_id = 3")[0][0]
    assert history >= 2  # Ben lost a license, Femi arrived


def test_an_unknown_product_name_is_named_with_file_row_and_column_and_nothing_is_stored(ledger):
    before = snapshot(ledger)
    typo = active_users_csv(
        edit=lambda r: (
            {**r, "Licenses": "Microsoft 365 E5+Microsoft Teams Phone Standrad"}
            if r["Display name"] == "Carla Costa"
            else r
        )
    )
    with pytest.raises(cc.TenantImportError) as error:
        import_tenant_files(ledger, [UploadedFile("users.csv", typo)])
    (problem,) = error.value.problems
    assert (problem.record, problem.key, problem.field) == ("users.csv row 4", "carla@fabrikam.com", "Licenses")
    assert "Microsoft Teams Phone Standrad" in problem.message
    assert "users.csv row 4 (carla@fabrikam.com): Licenses:" in str(error.value)
    assert snapshot(ledger) == before


def test_one_bad_file_stops_the_whole_upload(ledger):
    before = snapshot(ledger)
    files = day_one_files()
    files[2] = UploadedFile("PhoneNumbers.csv", phone_numbers_csv([("+1 425 555", "Ben Berg", "User")]))
    with pytest.raises(cc.TenantImportError) as error:
        import_tenant_files(ledger, files)
    (problem,) = error.value.problems
    assert (problem.record, problem.field) == ("PhoneNumbers.csv row 2", "Phone number")
    assert snapshot(ledger) == before  # the users file was fine, but nothing was half-imported


def test_bad_cells_use_the_admin_centers_column_names(ledger):
    bad = active_users_csv(
        edit=lambda r: (
            {**r, "Usage location": "Narnia"}
            if r["Display name"] == "Ada Adams"
            else {**r, "User principal name": "ben at fabrikam"}
            if r["Display name"] == "Ben Berg"
            else r
        )
    )
    checked = check_tenant_files(ledger, [UploadedFile("users.csv", bad)])
    assert {(p.record, p.field) for p in checked.problems} == {
        ("users.csv row 2", "Usage location"),
        ("users.csv row 3", "User principal name"),
    }


def test_a_file_that_is_no_known_export_says_which_columns_it_needs(ledger):
    other = b"Name,Email\nAda,ada@fabrikam.com\n"
    (problem,) = check_tenant_files(ledger, [UploadedFile("people.csv", other)]).problems
    assert problem.record == "people.csv" and "User principal name, Licenses" in problem.message
    seats_only = check_tenant_files(ledger, [UploadedFile("skus.json", subscribed_skus_json(SEATS))]).problems
    assert seats_only and "upload the users with it" in seats_only[0].message


def test_graph_json_of_users_and_subscribed_skus_works_the_same_way(ledger):
    users = {
        "value": [
            {
                "id": "11111111-2222-4333-8444-555555555555",
                "userPrincipalName": "zoe@fabrikam.com",
                "displayName": "Zoe Weber",
                "usageLocation": "NL",
                "assignedLicenses": [{"skuId": sku("SPE_E5"), "disabledPlans": []}],
            }
        ]
    }
    stored = import_tenant_files(
        ledger,
        [
            UploadedFile("users.json", json.dumps(users).encode()),
            UploadedFile("subscribedSkus.json", subscribed_skus_json(SEATS)),
        ],
    )
    assert stored[0][1].users == 1 and stored[0][1].skus == len(SEATS)
    assert held(ledger, "zoe@fabrikam.com") == ["SPE_E5"]


def test_teams_powershell_export_columns_are_read_too(ledger):
    import_tenant_files(ledger, day_one_files()[:2])
    out = io.StringIO()
    csv.writer(out).writerows(
        [
            ["TelephoneNumber", "TargetId", "TargetType", "NumberType"],
            ["+442079460000", "0b1c2d3e-0000-4000-8000-000000000002", "User", "CallingPlan"],
        ]
    )
    import_tenant_files(ledger, [UploadedFile("AcquiredPhoneNumbers.csv", out.getvalue().encode())])
    assert ledger.store.query("SELECT phone_number FROM user_phone_number") == [("+442079460000",)]


def test_the_form_pages_many_problems_and_offers_them_all_as_csv(ledger):
    people = [(f"User {n}", f"user{n}@fabrikam.com", "", "XX", "", "Microsoft 365 E5") for n in range(120)]
    form = LicensesForm(ledger)
    files = form.tenant_files
    files.check([UploadedFile("users.csv", active_users_csv(people))])
    assert files.import_button.disabled and "120 problems" in files.status.value
    assert files.problems.position.value == "Problems 1–50 of 120"
    files.problems.next.click()
    assert files.problems.position.value == "Problems 51–100 of 120"
    lines = files.problems.csv().splitlines()
    assert lines[0] == "File,Row,User,Column,Problem" and len(lines) == 121
    assert lines[1].startswith("users.csv,2,user0@fabrikam.com,Usage location,")


def test_step_1_and_step_3_import_from_files_and_refresh(ledger):
    step1 = LicensesForm(ledger)
    assert step1.files_box.selected_index == 0  # an empty tenant starts with the files open
    step1.tenant_files.check(day_one_files())
    assert not step1.tenant_files.import_button.disabled
    assert "Import 3 files" == step1.tenant_files.import_button.description
    step1.tenant_files.import_button.click()
    assert "Imported" in step1.tenant_files.status.value
    assert step1.tenant_files.import_button.disabled  # a second click cannot import twice
    assert len(step1.users) == 5 and "5 of 5 shown" in step1.chosen_line.value
    step3 = CreditLicensesForm(ledger)
    assert step3.files_box.selected_index is None  # imported already: one click away
    assert "ben@fabrikam.com" in " ".join(step3.user.options)
