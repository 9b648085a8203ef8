"""Step 2: review and place orders; billing details; the form driven without a browser."""

import time
from decimal import Decimal

import pytest

import commcredits as cc
from commcredits.credits.billing import BillingDetails, billing_problems, save_billing
from commcredits.credits.funding import OrderRequest, place_order, review_order
from commcredits.ui.funding import FundingForm

CONTOSO = BillingDetails("Contoso Ltd", "1 Microsoft Way", "Redmond", "98052", "US", "", "PO-77", "ap@contoso.com")


def request(amount="250.00", billing=CONTOSO, auto=False, add="", below=""):
    return OrderRequest(amount, billing, auto, add, below)


def test_review_then_place_buys_once_even_when_placed_twice():
    ledger = cc.open_ledger(":memory:")
    review, problems = review_order(ledger, request(amount="1,250.00"), order_id="ORDER-1")
    assert problems == [] and review.amount == Decimal("1250.00")
    first = place_order(ledger, review)
    second = place_order(ledger, review)
    assert first.lot == second.lot and first.invoice_id == "INV-000001"
    assert len(ledger.lots()) == 1 and ledger.balance() == Decimal("1250.00")


def test_review_lists_every_problem_by_field_and_changes_nothing():
    ledger = cc.open_ledger(":memory:")
    bad = BillingDetails(company="", country="Narnia", invoice_email="ap at contoso", payment_method="card",
                         card_last4="4111 1111 1111 1111")
    review, problems = review_order(ledger, request(amount="12.345", billing=bad, auto=True, add="abc", below="-1"),
                                    order_id="ORDER-2")
    assert review is None
    fields = {p.field for p in problems}
    assert {"amount", "company", "country", "invoice_email", "card_last4", "card_brand", "recharge_amount",
            "recharge_below"} <= fields
    assert any("full card number is never stored" in p.message for p in problems)
    assert len(ledger.entries()) == 0 and ledger.auto_recharge == cc.AutoRecharge(False)


def test_order_with_auto_recharge_turns_it_on():
    ledger = cc.open_ledger(":memory:")
    review, _ = review_order(ledger, request(auto=True, add="500", below="100"), order_id="ORDER-3")
    place_order(ledger, review)
    assert ledger.auto_recharge == cc.AutoRecharge(True, Decimal("500.00"), Decimal("100.00"))


def test_mca_tenants_are_told_why_they_cannot_buy_or_recharge():
    ledger = cc.open_ledger(":memory:", agreement="MCA")
    review, problems = review_order(ledger, request(auto=True, add="500", below="100"), order_id="ORDER-4")
    assert review is None
    messages = {p.field: p.message for p in problems}
    assert "MCA" in messages["amount"] and "auto-recharge off" in messages["auto_recharge"]


def test_billing_changes_apply_to_later_invoices_only():
    ledger = cc.open_ledger(":memory:")
    place_order(ledger, review_order(ledger, request(amount="100"), order_id="A")[0])
    time.sleep(0.01)
    moved = BillingDetails(**{**CONTOSO.__dict__, "city": "Seattle", "po_number": "PO-78"})
    place_order(ledger, review_order(ledger, request(amount="100", billing=moved), order_id="B")[0])
    rows = ledger.store.query("SELECT invoice_id, po_number, billing_version FROM invoice_billing ORDER BY invoice_id")
    assert rows == [("INV-000001", "PO-77", 1), ("INV-000002", "PO-78", 2)]


def test_billing_is_not_saved_twice_when_unchanged_and_card_numbers_are_refused():
    ledger = cc.open_ledger(":memory:")
    assert save_billing(ledger.store, CONTOSO) == save_billing(ledger.store, CONTOSO) == 1
    card = BillingDetails(**{**CONTOSO.__dict__, "payment_method": "card", "card_brand": "Visa",
                             "card_last4": "4242424242424242"})
    with pytest.raises(ValueError, match="last four digits"):
        save_billing(ledger.store, card)
    assert billing_problems(BillingDetails(**{**card.__dict__, "card_last4": "4242"})) == []


def fill(form: FundingForm, **values):
    for name, value in values.items():
        form.fields[name].value = value


def test_form_shows_inline_errors_for_a_bad_amount_and_records_nothing():
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    fill(form, amount="ten dollars", company="Contoso", address="1 Way", city="Redmond", postal_code="98052",
         country="US", invoice_email="ap@contoso.com")
    form.review_button.click()
    assert "not an amount" in form.errors["amount"].value
    assert "Please fix 1 problem" in form.status.value
    assert form.review is None and len(ledger.entries()) == 0


def test_form_double_click_on_place_order_places_one_order():
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    fill(form, amount="75.00", company="Contoso", address="1 Way", city="Redmond", postal_code="98052",
         country="US", invoice_email="ap@contoso.com", auto_recharge=True, recharge_amount="50",
         recharge_below="10")
    form.review_button.click()
    assert "Review your order" in form.summary.value and "$75.00" in form.summary.value
    form.place_button.click()
    form.place_button.click()
    assert len(ledger.lots()) == 1
    assert "Order placed" in form.status.value and "$75.00" in form.status.value
    assert "$75.00" in form.balance_line.value
    assert ledger.auto_recharge.enabled


def test_form_for_mca_tenant_disables_buying():
    ledger = cc.open_ledger(":memory:", agreement="MCA")
    form = FundingForm(ledger)
    assert form.fields["amount"].disabled and form.fields["auto_recharge"].disabled
