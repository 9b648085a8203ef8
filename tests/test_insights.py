"""Questions over usage and the ledger: spend by dimension, balance over time, runway, expiring funds, what-if."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from scenario import ledger_from, utc

import commcredits as cc
from commcredits.credits.settlement import settle
from commcredits.licensing.tenant import import_graph_tenant, import_phone_numbers_csv
from commcredits.usage import insights
from commcredits.usage.call_import import import_pstn_calls
from commcredits.usage.rating import load_included_minutes, load_rate_card, rate_calls


def call(i, at, charge, user="a@contoso.com", to="+442079460000", call_type="user_out"):
    return {
        "id": f"c{i:03d}",
        "startDateTime": at,
        "duration": 120,
        "charge": charge,
        "currency": "USD",
        "callType": call_type,
        "calleeNumber": to,
        "userPrincipalName": user,
        "licenseCapability": "MCOPSTNPP",
        "usageCountryCode": "US",
    }


@pytest.fixture
def ledger():
    ledger = ledger_from("2025-01-01 fund 100.00 as A")
    rows = [call(i, utc("2025-01-02") + timedelta(days=i), "1.00") for i in range(30)]
    rows += [call(100, utc("2025-02-10"), "5.00", user=None, to="+18005550199", call_type="ucap_in")]
    import_pstn_calls(ledger, rows)
    load_rate_card(ledger)
    load_included_minutes(ledger)
    rate_calls(ledger)
    settle(ledger)
    return ledger


def test_spend_by_each_dimension(ledger):
    users = insights.spend_by(ledger, "user").set_index("user_principal_name")
    assert users.loc["a@contoso.com", "amount"] == Decimal("30.00")
    assert users.filter(like="no user", axis=0)["amount"].tolist() == [Decimal("5.00")]
    assert insights.spend_by(ledger, "destination").set_index("destination_country")["amount"].to_dict() == {
        "GB": Decimal("30.00"),
        "US": Decimal("5.00"),
    }
    assert set(insights.spend_by(ledger, "call_type")["call_type"]) == {"user_out", "ucap_in"}
    months = insights.spend_by(ledger, "month")
    assert months["amount"].sum() == Decimal("35.00") and len(months) == 2
    with pytest.raises(cc.InvalidInput):
        insights.spend_by(ledger, "colour")


def test_balance_over_time_and_invoices_by_month(ledger):
    daily = insights.balance_over_time(ledger).set_index("day")
    assert daily["balance"].iloc[-1] == Decimal("65.00")
    assert daily.loc[pd.Timestamp("2025-01-01").date(), "added"] == Decimal("100.00")
    invoices = insights.invoices_by_month(ledger)
    assert invoices["amount"].tolist() == [Decimal("100.00")] and invoices["orders"].tolist() == [1]


def test_runway_at_the_recent_burn_rate(ledger):
    ledger.set_auto_recharge(amount="50.00", below="15.00")
    result = insights.runway(ledger, days=30, as_of=utc("2025-02-10"))
    # 20 calls of 1.00 (2025-01-12 .. 01-31) plus 5.00 in the 30 days up to 2025-02-10: 25/30 a day
    assert result.balance == Decimal("65.00") and result.daily_burn == Decimal("0.83")
    assert result.days_to_zero == pytest.approx(78.0)
    assert result.days_to_trigger == pytest.approx(60.0)
    assert result.zero_date is not None


def test_expiring_funds_and_the_part_likely_forfeited(ledger):
    as_of = utc("2025-12-15")  # lot A expires 2026-01-01 with 65.00 left; nothing spent lately
    frame = insights.expiring_funds(ledger, as_of=as_of).set_index("horizon_days")
    assert frame.loc[30, "expiring"] == Decimal("65.00") and frame.loc[30, "likely_forfeited"] == Decimal("65.00")
    busy = insights.expiring_funds(ledger, as_of=utc("2025-01-31"), horizons=(30, 365))
    assert busy.set_index("horizon_days").loc[30, "expiring"] == 0
    # at about 1.00 a day for 335 days, all 71.00 left on 2025-01-31 gets used before expiry
    assert busy.set_index("horizon_days").loc[365, "likely_forfeited"] == 0
    # the Overview hands over the lots it read already: the same figures
    given = insights.expiring_funds(ledger, as_of=as_of, lots=ledger.lots()).set_index("horizon_days")
    pd.testing.assert_frame_equal(given, frame)


def test_what_if_compares_auto_recharge_settings():
    ledger = ledger_from("2025-01-01 fund 10.00 as A")
    frame = pd.DataFrame(
        {
            "usage_id": [f"u{i}" for i in range(20)],
            "start_at": [utc("2025-01-02") + timedelta(days=i) for i in range(20)],
            "charge": ["1.00"] * 20,
        }
    )
    settle(ledger, calls=frame)
    table = insights.what_if(ledger, settings=[("10.00", "2.00"), None]).set_index("scenario")
    assert table.loc["current", "blocked_calls"] == 10 and table.loc["current", "blocked_days"] == 10
    alt = table.loc["add 10.00 below 2.00"]
    assert alt["blocked_calls"] == 0 and alt["recharges"] == 2 and alt["invoiced"] == Decimal("30.00")
    assert ledger.store.query("SELECT count(*) FROM invoice")[0][0] == 1  # the real ledger is untouched


def test_what_if_over_a_period_starts_from_the_remainders_then():
    ledger = ledger_from("2025-01-01 fund 10.00 as A")
    frame = pd.DataFrame(
        {
            "usage_id": [f"u{i}" for i in range(8)],
            "start_at": [utc("2025-01-02") + timedelta(days=i) for i in range(8)],
            "charge": ["1.00"] * 8,
        }
    )
    settle(ledger, calls=frame)
    table = insights.what_if(ledger, amount="5.00", below="3.00", start=utc("2025-01-06")).set_index("scenario")
    assert table.loc["current", "end_balance"] == Decimal("2.00")
    assert table.loc["add 5.00 below 3.00", "recharges"] == 1


TENANT = Path(__file__).parent / "fixtures" / "graph"


@pytest.fixture
def tenant_ledger():
    """The fixture tenant (departments, and the auto attendant aa-main holding +1 425 555 0100), calls by its
    users, by the auto attendant and by someone the tenant import does not know."""
    ledger = ledger_from("2025-01-01 fund 500.00 as A")
    import_graph_tenant(ledger.store, users=TENANT / "users.json", subscribed_skus=TENANT / "subscribed_skus.json")
    import_phone_numbers_csv(ledger.store, TENANT / "phone_numbers.csv")
    day = utc("2025-01-02")
    rows = [
        call(1, day, "2.00", user="alice@contoso.com"),
        call(2, day, "3.00", user="carol@contoso.com"),
        call(3, day, "4.00", user="bob@contoso.com"),
        call(4, day, "1.50", user="erin@contoso.com"),
        call(5, day, "0.25", user="gone@contoso.com"),
        call(6, day, "6.00", user=None, to="+14255550100", call_type="ucap_in"),
        call(7, day, "7.00", user=None, to="+18005550199", call_type="ucap_in"),
    ]
    rows[0]["callerNumber"] = rows[1]["callerNumber"] = "+14255550123"  # a shared line, calling out
    import_pstn_calls(ledger, rows)
    settle(ledger)
    return ledger


def test_spend_by_department_resource_account_and_number(tenant_ledger):
    """The Teams PSTN usage report's own dimensions: budgets by department, what each auto attendant or call
    queue costs, what each of the tenant's numbers costs; every split adds up to what was spent."""
    departments = insights.spend_by(tenant_ledger, "department").set_index("department")
    assert departments["amount"].to_dict() == {
        "(no user: auto attendant, call queue or bot)": Decimal("13.00"),
        "Sales": Decimal("5.00"),
        "Support": Decimal("4.00"),
        "Finance": Decimal("1.50"),
        "(no department)": Decimal("0.25"),
    }
    assert departments.loc["Sales", "users"] == 2 and departments.loc["Sales", "calls"] == 2
    accounts = insights.spend_by(tenant_ledger, "resource_account")
    assert accounts[["resource_account", "phone_number", "amount"]].fillna("?").values.tolist() == [
        ["?", "+18005550199", Decimal("7.00")],  # a number the tenant import does not give to anyone
        ["Main line auto attendant", "+14255550100", Decimal("6.00")],
    ]
    numbers = insights.spend_by(tenant_ledger, "number").set_index("phone_number")
    assert numbers.loc["+14255550123", "amount"] == Decimal("5.00")  # the calls out from the shared line
    assert numbers.loc["+14255550100", "held_by"] == "Main line auto attendant"  # called, on the way in
    spent = Decimal("23.75")
    for dimension in ("user", "department", "number", "destination", "call_type", "month"):
        assert insights.spend_by(tenant_ledger, dimension)["amount"].sum() == spent, dimension
    with pytest.raises(cc.InvalidInput, match="resource_account"):
        insights.spend_by(tenant_ledger, "team")


def test_a_spend_rollup_from_before_the_number_dimensions_is_summed_again_once(tenant_ledger):
    """Ledgers whose rollups were written before the new dimensions still split every call by number."""
    insights.spend_by(tenant_ledger, "user")  # rollups up to date
    with tenant_ledger.store.transaction() as con:  # as an older version left them
        con.execute("DELETE FROM spend_rollup WHERE dimension IN ('number', 'resource_number')")
    users = insights.spend_by(tenant_ledger, "user")
    assert insights.spend_by(tenant_ledger, "number")["amount"].sum() == Decimal("23.75")
    assert insights.spend_by(tenant_ledger, "resource_account")["amount"].sum() == Decimal("13.00")
    pd.testing.assert_frame_equal(insights.spend_by(tenant_ledger, "user"), users)
    (rows,) = tenant_ledger.store.query("SELECT count(*) FROM spend_rollup WHERE dimension = 'user'")[0]
    assert rows == len(users)  # summed again, not added twice
