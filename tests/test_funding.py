"""Step 2: record a purchase made in Microsoft 365 (review, then record); billing details; the form driven
without a browser."""

import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import commcredits as cc
from commcredits.credits.billing import BillingDetails, billing_problems, save_billing
from commcredits.credits.funding import (
    OrderRequest,
    PurchaseRequest,
    place_order,
    record_purchase,
    review_order,
    review_purchase,
)
from commcredits.ui.funding import FundingForm

CONTOSO = BillingDetails("Contoso Ltd", "1 Microsoft Way", "Redmond", "98052", "US", "", "PO-77", "ap@contoso.com")


def request(amount="250.00", billing=CONTOSO, auto=False, add="", below="", number="MS-1", on=None):
    return PurchaseRequest(amount, billing, auto, add, below, microsoft_number=number, purchased_on=on)


def test_a_purchase_recorded_twice_is_kept_once_under_microsofts_number():
    ledger = cc.open_ledger(":memory:")
    review, problems = review_purchase(ledger, request(amount="1,250.00", number="ORDER-1"))
    assert problems == [] and review.amount == Decimal("1250.00")
    first = record_purchase(ledger, review)
    second = record_purchase(ledger, review)
    assert first.lot == second.lot and first.invoice_id == "INV-000001"
    assert len(ledger.lots()) == 1 and ledger.balance() == Decimal("1250.00")
    assert ledger.lots().iloc[0]["order_id"] == "ORDER-1"
    # a later review of the same number says it is already recorded
    _, again = review_purchase(ledger, request(amount="1,250.00", number="ORDER-1"))
    assert [p.field for p in again] == ["microsoft_number"] and "already recorded" in again[0].message


def test_the_number_and_the_amount_are_both_required_and_billing_details_are_optional():
    ledger = cc.open_ledger(":memory:")
    _, problems = review_purchase(ledger, request(amount="100", number="", billing=BillingDetails()))
    assert {p.field for p in problems} == {"microsoft_number"}
    _, problems = review_purchase(ledger, request(amount="", number="MS-9", billing=BillingDetails()))
    assert {p.field for p in problems} == {"amount"}
    review, problems = review_purchase(ledger, request(amount="100", number="MS-9", billing=BillingDetails()))
    assert problems == [] and review.billing is None
    assert record_purchase(ledger, review).billing_version is None and ledger.balance() == Decimal("100.00")


def test_the_purchase_date_is_today_or_earlier_within_twelve_months():
    ledger = cc.open_ledger(":memory:")
    today = datetime.now(UTC).date()
    _, problems = review_purchase(ledger, request(on=today + timedelta(days=2)))
    assert "future" in problems[0].message
    _, problems = review_purchase(ledger, request(on=today - timedelta(days=400)))
    assert "already expired" in problems[0].message
    earlier = today - timedelta(days=40)
    review, problems = review_purchase(ledger, request(on=earlier))
    assert problems == []
    lot = record_purchase(ledger, review).lot
    assert lot.purchased_at == datetime.combine(earlier, datetime.min.time(), UTC)
    assert lot.expires_at.date() < today + timedelta(days=365)  # 12 months from the purchase, not from today
    ledger.spend("10.00", at=None, usage_id="call-1")
    _, problems = review_purchase(ledger, request(number="MS-2", on=earlier + timedelta(days=1)))
    assert "never rewrites history" in problems[0].message


def test_the_old_shop_names_still_work_for_one_release_and_say_so():
    ledger = cc.open_ledger(":memory:")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        review, _ = review_order(ledger, OrderRequest("60.00", CONTOSO, False), order_id="ORDER-OLD")
        place_order(ledger, review)
    assert ledger.lots().iloc[0]["order_id"] == "ORDER-OLD"
    assert [w.category for w in caught] == [DeprecationWarning, DeprecationWarning]
    assert "record_purchase" in str(caught[1].message)


def test_review_lists_every_problem_by_field_and_changes_nothing():
    ledger = cc.open_ledger(":memory:")
    bad = BillingDetails(
        company="",
        country="Narnia",
        invoice_email="ap at contoso",
        payment_method="card",
        card_last4="4111 1111 1111 1111",
    )
    review, problems = review_purchase(ledger, request(amount="12.345", billing=bad, auto=True, add="abc", below="-1"))
    assert review is None
    fields = {p.field for p in problems}
    assert {
        "amount",
        "company",
        "country",
        "invoice_email",
        "card_last4",
        "card_brand",
        "recharge_amount",
        "recharge_below",
    } <= fields
    assert any("full card number is never stored" in p.message for p in problems)
    assert len(ledger.entries()) == 0 and ledger.auto_recharge == cc.AutoRecharge(False)


def test_order_with_auto_recharge_turns_it_on():
    ledger = cc.open_ledger(":memory:")
    review, _ = review_purchase(ledger, request(auto=True, add="500", below="100"))
    record_purchase(ledger, review)
    assert ledger.auto_recharge == cc.AutoRecharge(True, Decimal("500.00"), Decimal("100.00"))


def test_mca_tenants_are_told_why_there_is_no_purchase_to_record():
    ledger = cc.open_ledger(":memory:", agreement="MCA")
    review, problems = review_purchase(ledger, request(auto=True, add="500", below="100"))
    assert review is None
    messages = {p.field: p.message for p in problems}
    assert "not available to purchase" in messages["amount"] and "auto-recharge off" in messages["auto_recharge"]


def test_billing_changes_apply_to_later_invoices_only():
    ledger = cc.open_ledger(":memory:")
    record_purchase(ledger, review_purchase(ledger, request(amount="100", number="A"))[0])
    time.sleep(0.01)
    moved = BillingDetails(**{**CONTOSO.__dict__, "city": "Seattle", "po_number": "PO-78"})
    record_purchase(ledger, review_purchase(ledger, request(amount="100", billing=moved, number="B"))[0])
    rows = ledger.store.query("SELECT invoice_id, po_number, billing_version FROM invoice_billing ORDER BY invoice_id")
    assert rows == [("INV-000001", "PO-77", 1), ("INV-000002", "PO-78", 2)]


def test_billing_is_not_saved_twice_when_unchanged_and_card_numbers_are_refused():
    ledger = cc.open_ledger(":memory:")
    assert save_billing(ledger.store, CONTOSO) == save_billing(ledger.store, CONTOSO) == 1
    card = BillingDetails(
        **{**CONTOSO.__dict__, "payment_method": "card", "card_brand": "Visa", "card_last4": "4242424242424242"}
    )
    with pytest.raises(ValueError, match="last four digits"):
        save_billing(ledger.store, card)
    assert billing_problems(BillingDetails(**{**card.__dict__, "card_last4": "4242"})) == []


def fill(form: FundingForm, **values):
    for name, value in values.items():
        form.fields[name].value = value


def test_form_shows_inline_errors_for_a_bad_amount_and_records_nothing():
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    fill(form, amount="ten dollars", microsoft_number="MS-1")
    form.review_button.click()
    assert "not an amount" in form.errors["amount"].value
    assert "Please fix 1 problem" in form.status.value
    assert form.review is None and len(ledger.entries()) == 0


def test_form_records_only_after_the_review_is_ticked_and_a_double_click_records_once():
    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger)
    fill(form, amount="75.00", microsoft_number="MS-75", auto_recharge=True, recharge_amount="50", recharge_below="10")
    form.review_button.click()
    assert "Check this record" in form.summary.value and "$75.00" in form.summary.value
    form.record_button.click()  # not ticked: nothing is kept
    assert len(ledger.lots()) == 0 and "tick" in form.status.value
    form.checked.value = True
    form.record_button.click()
    form.record_button.click()
    assert len(ledger.lots()) == 1
    assert "Purchase recorded" in form.status.value and "$75.00" in form.status.value and "MS-75" in form.status.value
    assert "$75.00" in form.balance_line.value
    assert ledger.auto_recharge.enabled


def test_the_page_says_it_records_and_never_offers_to_order():
    for agreement, words in (
        ("MOSA", "Buy in Microsoft 365, then record it here"),
        ("CSP", "Your partner funds Communication Credits; record what they bought."),
        ("EA", "might not be able to purchase"),
        ("MCA", "not available to purchase"),
    ):
        form = FundingForm(cc.open_ledger(":memory:", agreement=agreement))
        text = form.widget.children[1].value
        assert words in text, agreement
        labels = [b.description for b in (form.review_button, form.record_button, form.edit_button)]
        assert not any("order" in label.lower() or "place" in label.lower() for label in labels)
    direct = FundingForm(cc.open_ledger(":memory:")).widget.children[1].value
    assert 'href="https://admin.microsoft.com/' in direct and "Purchase services" in direct
    csp = FundingForm(cc.open_ledger(":memory:", agreement="CSP")).widget.children[1].value
    assert "Purchase services" not in csp  # CSP customers can't buy in the admin center


def test_form_for_mca_tenant_disables_recording_a_purchase():
    ledger = cc.open_ledger(":memory:", agreement="MCA")
    form = FundingForm(ledger)
    assert all(form.fields[n].disabled for n in ("amount", "microsoft_number", "purchased_on", "auto_recharge"))
    assert form.editor.layout.display == "none"  # no form to fill under "nothing to record"
