"""Step 2 guard rails: no minimum Microsoft does not state, a warning (never a refusal) for a trigger far above
the recharge amount, and an explicit confirmation for an amount above a year of calls or for recharges several
times a day at the recent spend; the confirmation never carries over to another amount or purchase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from billing_fields import CONTOSO_BILLING

import commcredits as cc
from commcredits.credits.billing import BillingDetails
from commcredits.credits.funding import PurchaseRequest, review_purchase
from commcredits.ui.funding import FundingForm

BILLING = BillingDetails(**CONTOSO_BILLING)
NOW = datetime.now(UTC)


def busy_ledger(per_day: str = "100.00", currency: str = "USD"):
    """A tenant that spent `per_day` every day of the last 90."""
    ledger = cc.open_ledger(":memory:", currency=currency)
    start = NOW - timedelta(days=91)
    ledger.add_funds("1000000.00", at=start, order_id="big")
    for day in range(90):
        ledger.spend(per_day, at=start + timedelta(days=day + 1), usage_id=f"day-{day}")
    return ledger


def problems_of(ledger, amount="", auto=False, add="", below="", confirmed=False):
    review, problems = review_purchase(
        ledger, PurchaseRequest(amount, BILLING, auto, add, below, confirmed, microsoft_number="MS-1" if amount else "")
    )
    return review, {p.field: p.message for p in problems}


def test_no_minimum_purchase_or_recharge_amount_is_refused():
    ledger = cc.open_ledger(":memory:")
    review, problems = problems_of(ledger, amount="0.01")
    assert problems == {} and review.amount == Decimal("0.01")
    review, problems = problems_of(ledger, auto=True, add="1.00", below="5.00")
    assert problems == {} and review.auto_recharge.amount == Decimal("1.00")


def test_a_trigger_above_ten_times_the_recharge_is_a_warning_not_a_refusal():
    ledger = cc.open_ledger(":memory:")
    review, problems = problems_of(ledger, auto=True, add="50.00", below="9999999.99")
    assert problems == {} and review is not None
    assert len(review.warnings) == 1 and "more than 10 times the recharge amount" in review.warnings[0]
    assert problems_of(ledger, auto=True, add="50.00", below="500.00")[0].warnings == ()


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


@pytest.mark.parametrize("typed, words", [("1e6", "exponent"), ("4111 1111 1111 1111", "card number")])
def test_the_step2_form_shows_the_problem_beside_the_amount(typed, words):
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    for name, value in dict(amount=typed, microsoft_number="MS-1").items():
        form.fields[name].value = value
    form.review_button.click()
    assert words in form.errors["amount"].value and "Amount" in form.errors["amount"].value
    assert form.review is None and len(ledger.entries()) == 0


def test_the_step2_form_asks_for_confirmation_then_reviews_the_purchase():
    ledger = busy_ledger("10.00")
    form = FundingForm(ledger)
    for name, value in dict(amount="100,000", microsoft_number="MS-100000").items():
        form.fields[name].value = value
    assert form.fields["confirm"].layout.display == "none"
    form.review_button.click()
    assert form.review is None and form.fields["confirm"].layout.display is None
    assert "more than a year" in form.errors["confirm"].value
    form.fields["confirm"].value = True
    form.review_button.click()
    assert form.review is not None and form.review.amount == Decimal("100000.00")


def test_the_confirmation_resets_when_an_amount_changes_and_after_each_purchase():
    ledger = busy_ledger("10.00")
    form = FundingForm(ledger)
    form.fields["amount"].value, form.fields["microsoft_number"].value = "100,000", "MS-A"
    form.review_button.click()
    form.fields["confirm"].value = True
    form.fields["amount"].value = "5,000,000"  # another amount: the tick was for 100,000
    assert form.fields["confirm"].value is False
    form.review_button.click()
    assert form.review is None and "more than a year" in form.errors["confirm"].value
    form.fields["confirm"].value = True
    for name, value in dict(CONTOSO_BILLING, po_number="PO-1").items():
        form.fields[name].value = value
    form.review_button.click()
    form.checked.value = True
    form.record_button.click()
    assert ledger.lots().iloc[-1]["order_id"] == "MS-A"
    # the next purchase starts clean: no tick, no PO number, no number, today's date
    assert form.fields["confirm"].value is False and form.fields["confirm"].layout.display == "none"
    assert form.fields["po_number"].value == "" and form.fields["microsoft_number"].value == ""
    assert form.checked.value is False
    form.fields["amount"].value, form.fields["microsoft_number"].value = "5,000,000", "MS-B"
    form.review_button.click()
    assert form.review is None and "more than a year" in form.errors["confirm"].value
    assert len(ledger.lots()) == 2  # the busy ledger's own lot and MS-A only
    # a new form never starts with the last purchase's PO number either
    assert FundingForm(ledger).fields["po_number"].value == ""


def test_the_settlement_reports_how_often_auto_recharge_ran_in_one_day():
    from commcredits.credits.settlement import settle

    ledger = cc.open_ledger(":memory:")
    ledger.set_auto_recharge(amount="1.00", below="2.00")  # the API allows it; the form would not
    # noon yesterday: the six calls (and their recharges) fall on one UTC day even when the tests start at midnight
    day = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    calls = pd.DataFrame(
        {
            "usage_id": [f"c{i}" for i in range(6)],
            "start_at": [day + timedelta(minutes=i) for i in range(6)],
            "charge": [Decimal("1.00")] * 6,
        }
    )
    report = settle(ledger, calls=calls)
    assert report.recharges >= 6 and report.max_recharges_per_day == report.recharges
