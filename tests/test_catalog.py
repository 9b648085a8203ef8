"""The SKU catalog decides capabilities from service plans, from data shipped inside the package."""

import importlib.resources

from commcredits.licensing.catalog import (
    AUDIO_CONFERENCING_SKU,
    COMMUNICATION_CREDITS_SKU,
    DOMESTIC_CALLING_PLAN_SKU,
    RESOURCE_ACCOUNT_SKU,
    TEAMS_PHONE_SKU,
    Capability,
    load_catalog,
)

SPE_E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
OFFICE_E5 = "c7df2760-2c81-4ef7-b578-5b5392b571df"
OFFICE_E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
MCOEV_PLAN = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7"


def test_standalone_products_grant_their_capability():
    catalog = load_catalog()
    assert catalog.product(COMMUNICATION_CREDITS_SKU).capabilities() == {Capability.COMMUNICATION_CREDITS}
    assert catalog.product(AUDIO_CONFERENCING_SKU).capabilities() == {Capability.AUDIO_CONFERENCING}
    assert catalog.product(TEAMS_PHONE_SKU).capabilities() == {Capability.TEAMS_PHONE}
    assert catalog.product(DOMESTIC_CALLING_PLAN_SKU).capabilities() == {Capability.DOMESTIC_CALLING_PLAN}
    assert catalog.product(RESOURCE_ACCOUNT_SKU).capabilities() == {Capability.RESOURCE_ACCOUNT}


def test_e5_bundles_include_teams_phone_and_audio_conferencing_but_no_calling_plan_or_credits():
    catalog = load_catalog()
    for sku in (SPE_E5, OFFICE_E5):
        assert catalog.product(sku).capabilities() == {
            Capability.TEAMS,
            Capability.TEAMS_PHONE,
            Capability.AUDIO_CONFERENCING,
        }


def test_a_disabled_plan_removes_the_capability():
    catalog = load_catalog()
    assert catalog.capabilities([(SPE_E5, [MCOEV_PLAN.upper()])]) == {Capability.AUDIO_CONFERENCING, Capability.TEAMS}
    assert catalog.capabilities([(SPE_E5, [MCOEV_PLAN]), (TEAMS_PHONE_SKU, [])]) >= {Capability.TEAMS_PHONE}


def test_suites_without_telephony_grant_only_teams():
    catalog = load_catalog()
    e3 = catalog.product(OFFICE_E3)
    assert e3.sku_part_number == "ENTERPRISEPACK" and e3.capabilities() == {Capability.TEAMS}


def test_lookup_by_part_number_tolerates_spaces_and_case():
    catalog = load_catalog()
    assert catalog.by_part_number(" mcopstnc ").sku_id == COMMUNICATION_CREDITS_SKU
    assert catalog.by_part_number("NO_SUCH_SKU") is None


def test_every_microsoft_product_is_known_once_by_guid():
    catalog = load_catalog()
    assert len(catalog.products) > 500
    assert all(sku == sku.lower() and sku == p.sku_id for sku, p in catalog.products.items())
    assert all(p.sku_part_number == p.sku_part_number.strip() for p in catalog.products.values())


def test_catalog_data_ships_inside_the_package():
    data = importlib.resources.files("commcredits.data")
    assert data.joinpath("sku_service_plans.csv").is_file() and data.joinpath("skus.csv").is_file()


def test_capabilities_have_plain_labels():
    assert Capability.TEAMS_PHONE.label == "Teams Phone"
    assert Capability.COMMUNICATION_CREDITS.label == "Communication Credits"
