"""Day one on one's own ledger: an empty ledger opens on a short setup, the demo says it is sample data."""

from datetime import UTC, datetime

import pytest

import commcredits as cc
from commcredits.tenant_setup import can_change_currency, current_setup, is_sample_data, needs_setup, record_setup
from commcredits.ui import format as fmt
from commcredits.ui.nav import ledger_notice, navigation
from commcredits.ui.overview import build_overview
from commcredits.ui.setup import SetupForm


@pytest.fixture
def empty(tmp_path):
    return cc.open_ledger(tmp_path / "ours.duckdb")


def setup_rows(ledger):
    return ledger.store.query("SELECT count(*) FROM tenant_setup")[0][0]


def test_a_new_ledger_is_empty_and_asks_for_its_setup(empty):
    assert needs_setup(empty) and current_setup(empty) is None and not is_sample_data(empty)
    assert empty.balance() == 0 and empty.lots().empty


def test_setup_records_organisation_currency_agreement_and_time_zone(empty):
    ours = record_setup(
        empty, organisation=" Fabrikam Ltd ", currency="eur", agreement="CSP", time_zone="Europe/Berlin"
    )
    assert ours.currency == "EUR" and ours.agreement is cc.Agreement.CSP
    reopened = cc.open_ledger(empty.store.path)
    assert reopened.currency == "EUR" and reopened.agreement is cc.Agreement.CSP
    setup = current_setup(reopened)
    assert (setup.organisation, setup.time_zone, setup.sample_data) == ("Fabrikam Ltd", "Europe/Berlin", False)
    assert not needs_setup(reopened)


def test_setup_is_append_only_and_the_latest_holds(empty):
    record_setup(empty, organisation="Fabrikam", currency="USD", agreement="MOSA", time_zone="UTC")
    record_setup(empty, organisation="Fabrikam Ltd", currency="USD", agreement="MCA", time_zone="America/Chicago")
    history = empty.store.query("SELECT organisation FROM tenant_setup ORDER BY change_id")
    assert history == [("Fabrikam",), ("Fabrikam Ltd",)]
    assert current_setup(empty).time_zone == "America/Chicago" and empty.agreement is cc.Agreement.MCA


def test_the_currency_is_fixed_once_an_amount_is_recorded(empty):
    ours = record_setup(empty, organisation="Fabrikam", currency="GBP", agreement="MOSA", time_zone="Europe/London")
    ours.add_funds("25.00", at=datetime.now(UTC), order_id="PO-1")
    assert not can_change_currency(ours)
    with pytest.raises(cc.InvalidInput) as error:
        record_setup(ours, organisation="Fabrikam", currency="EUR", agreement="MOSA", time_zone="Europe/London")
    assert error.value.field == "currency" and "GBP" in error.value.message
    assert cc.open_ledger(empty.store.path).currency == "GBP" and setup_rows(ours) == 1
    assert ours.balance() == cc.open_ledger(empty.store.path).balance()  # money untouched


@pytest.mark.parametrize(
    "field, values",
    [
        ("organisation", {"organisation": "   "}),
        ("currency", {"currency": "EURO"}),
        ("time_zone", {"time_zone": "Mars/Olympus"}),
        ("agreement", {"agreement": "retail"}),
    ],
)
def test_bad_setup_names_the_field_and_records_nothing(empty, field, values):
    good = {"organisation": "Fabrikam", "currency": "EUR", "agreement": "MOSA", "time_zone": "UTC"}
    with pytest.raises(cc.InvalidInput) as error:
        record_setup(empty, **{**good, **values})
    assert error.value.field == field
    assert setup_rows(empty) == 0 and cc.open_ledger(empty.store.path).currency == "USD"
    assert empty.agreement is cc.Agreement.MOSA and needs_setup(empty)


def test_mca_while_auto_recharge_is_on_is_refused_whole(empty):
    empty.set_auto_recharge(amount="100.00", below="20.00")
    with pytest.raises(cc.NotAllowedForAgreement):
        record_setup(empty, organisation="Fabrikam", currency="USD", agreement="MCA", time_zone="UTC")
    assert setup_rows(empty) == 0 and empty.agreement is cc.Agreement.MOSA


def test_the_demo_is_marked_sample_data_and_every_page_says_so(demo_db_path):
    demo = cc.open_ledger(demo_db_path)
    assert is_sample_data(demo) and not needs_setup(demo)
    for page in ("00_overview.ipynb", "01_licenses.ipynb", "04_usage.ipynb", "06_m365.ipynb"):
        notice = ledger_notice(demo, page)
        assert "Demo tenant: sample data" in notice and "COMMCREDITS_DB=" in notice
    assert "Demo tenant: sample data" in navigation("02_funding.ipynb", ledger=demo).value


def test_an_empty_ledger_says_what_to_do_first_on_every_page_but_the_setup(empty):
    assert ledger_notice(empty, "00_overview.ipynb") == ""  # the Overview shows the setup itself
    for page in (
        "01_licenses.ipynb",
        "02_funding.ipynb",
        "03_credit_licenses.ipynb",
        "04_usage.ipynb",
        "05_alerts.ipynb",
        "06_m365.ipynb",
    ):
        notice = ledger_notice(empty, page)
        assert "This ledger is empty" in notice and "00_overview.ipynb" in notice
        assert "sample data" not in notice
    ours = record_setup(empty, organisation="Fabrikam", currency="USD", agreement="MOSA", time_zone="UTC")
    assert ledger_notice(ours, "01_licenses.ipynb") == ""


def css(widget, name):
    return name in widget._dom_classes


def test_overview_of_an_empty_ledger_is_the_setup_form_then_the_overview(empty, monkeypatch):
    monkeypatch.setattr(fmt, "_tenant_timezone", None)
    page = build_overview(empty)
    assert css(page, "cc-setup")
    form = next(c for c in page.children if hasattr(c, "placeholder") and "Fabrikam" in (c.placeholder or ""))
    save = next(
        b
        for c in page.children
        for b in getattr(c, "children", (c,))
        if getattr(b, "description", "") == "Save and start"
    )
    save.click()  # nothing typed: the error sits beside the name, nothing recorded
    errors = [c.value for c in page.children if css(c, "cc-error-organisation")]
    assert "organisation&#x27;s name" in errors[0] and setup_rows(empty) == 0
    form.value = "Fabrikam Ltd"
    currency = next(c for c in page.children if css(c, "cc-setup-currency"))
    currency.value = "CHF"
    zone = next(c for c in page.children if css(c, "cc-setup-time-zone"))
    zone.value = "Europe/Zurich"
    save.click()
    assert setup_rows(empty) == 1 and cc.open_ledger(empty.store.path).currency == "CHF"
    assert "Saved: Fabrikam Ltd, CHF" in page.children[0].value
    assert fmt.admin_timezone().key == "Europe/Zurich"  # the pages now show the setup's time zone
    overview = page.children[1]
    assert not css(overview, "cc-setup") and "CHF" in overview.children[1].value


def test_setup_form_offers_the_four_ways_to_buy(empty):
    form = SetupForm(empty, lambda ledger: None)
    assert [value for _, value in form.agreement.options] == ["MOSA", "MCA", "CSP", "EA"]
    assert any("partner" in label for label, _ in form.agreement.options)
    assert ("Swiss Franc (CHF)", "CHF") in form.currency.options
