"""Step 2 guard rails: Microsoft's minimum order, a sane auto-recharge trigger, and an explicit confirmation
for an amount above a year of calls or for recharges several times a day at the recent spend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pytest

import commcredits as cc
from commcredits.credits.billing import BillingDetails
from commcredits.credits.funding import OrderRequest, minimum_order, review_order
from commcredits.ui.funding import FundingForm

BILLING = BillingDetails(company="Contoso", address="1 Microsoft Way", city="Redmond", postal_code="98052",
                         country="US", invoice_email="ap@contoso.com")
NOW = datetime.now(timezone.utc)


def busy_ledger(per_day: str = "100.00", currency: str = "USD"):
    """A tenant that spent `per_day` every day of the last 90."""
    ledger = cc.open_ledger(":memory:", currency=currency)
    start = NOW - timedelta(days=91)
    ledger.add_funds("1000000.00", at=start, order_id="big")
    for day in range(90):
        ledger.spend(per_day, at=start + timedelta(days=day + 1), usage_id=f"day-{day}")
    return ledger


def problems_of(ledger, amount="", auto=False, add="", below="", confirmed=False):
    review, problems = review_order(ledger, OrderRequest(amount, BILLING, auto, add, below, confirmed), order_id="o-1")
    return review, {p.field: p.message for p in problems}


def test_manual_orders_below_50_usd_are_refused_on_the_amount_field():
    ledger = cc.open_ledger(":memory:")
    review, problems = problems_of(ledger, amount="49.99")
    assert review is None and "minimum order is $50.00" in problems["amount"]
    assert problems_of(ledger, amount="50.00")[0] is not None


def test_other_currencies_take_a_configured_minimum(monkeypatch):
    ledger = cc.open_ledger(":memory:", currency="EUR")
    assert minimum_order("EUR") is None and problems_of(ledger, amount="5.00")[0] is not None
    monkeypatch.setenv("COMMCREDITS_MINIMUM_ORDER", "EUR=45, GBP=40")
    assert minimum_order("EUR") == Decimal("45") and minimum_order("GBP") == Decimal("40")
    assert "minimum order" in problems_of(ledger, amount="44.00")[1]["amount"]


def test_auto_recharge_needs_the_minimum_amount_and_a_trigger_within_ten_times_it():
    ledger = cc.open_ledger(":memory:")
    _, problems = problems_of(ledger, auto=True, add="1.00", below="1000.00")  # issue 9: 6,000 invoices
    assert "minimum is $50.00" in problems["recharge_amount"]
    _, problems = problems_of(ledger, auto=True, add="50.00", below="9999999.99")
    assert "at most 10 times" in problems["recharge_below"]
    assert problems_of(ledger, auto=True, add="50.00", below="500.00")[0] is not None


def test_frequent_recharges_at_the_recent_burn_need_confirmation():
    ledger = busy_ledger("400.00")  # 400 a day
    review, problems = problems_of(ledger, auto=True, add="100.00", below="200.00")
    assert review is None and "about 4 times a day" in problems["confirm"]
    assert problems_of(ledger, auto=True, add="100.00", below="200.00", confirmed=True)[0] is not None
    assert problems_of(ledger, auto=True, add="1000.00", below="200.00")[0] is not None  # once in 2.5 days


def test_an_amount_above_a_year_of_calls_needs_confirmation():
    ledger = busy_ledger("10.00")  # 3,650 a year
    review, problems = problems_of(ledger, amount="1,000,000")
    assert review is None and "more than a year of calls" in problems["confirm"]
    assert problems_of(ledger, amount="1,000,000", confirmed=True)[0].amount == Decimal("1000000.00")
    assert problems_of(ledger, amount="500.00")[0] is not None


@pytest.mark.parametrize("typed, words", [("1e6", "exponent"), ("4111 1111 1111 1111", "card number"),
                                          ("49", "minimum order")])
def test_the_step2_form_shows_the_problem_beside_the_amount(typed, words):
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    for name, value in dict(amount=typed, company="Contoso", address="1 Way", city="Redmond", postal_code="98052",
                            country="US", invoice_email="ap@contoso.com").items():
        form.fields[name].value = value
    form.review_button.click()
    assert words in form.errors["amount"].value and "Amount" in form.errors["amount"].value
    assert form.review is None and len(ledger.entries()) == 0


def test_the_step2_form_asks_for_confirmation_then_places_the_order():
    ledger = busy_ledger("10.00")
    form = FundingForm(ledger)
    for name, value in dict(amount="100,000", company="Contoso", address="1 Way", city="Redmond", postal_code="98052",
                            country="US", invoice_email="ap@contoso.com").items():
        form.fields[name].value = value
    assert form.fields["confirm"].layout.display == "none"
    form.review_button.click()
    assert form.review is None and form.fields["confirm"].layout.display is None
    assert "more than a year" in form.errors["confirm"].value
    form.fields["confirm"].value = True
    form.review_button.click()
    assert form.review is not None and form.review.amount == Decimal("100000.00")


def test_the_settlement_reports_how_often_auto_recharge_ran_in_one_day():
    from commcredits.credits.settlement import settle

    ledger = cc.open_ledger(":memory:")
    ledger.set_auto_recharge(amount="1.00", below="2.00")  # the API allows it; the form would not
    day = NOW - timedelta(days=1)
    calls = pd.DataFrame({"usage_id": [f"c{i}" for i in range(6)],
                          "start_at": [day + timedelta(minutes=i) for i in range(6)],
                          "charge": [Decimal("1.00")] * 6})
    report = settle(ledger, calls=calls)
    assert report.recharges >= 6 and report.max_recharges_per_day == report.recharges
