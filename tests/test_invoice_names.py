"""One name per purchase: the invoice number wherever a purchase is shown, the order id beside it."""

from datetime import UTC, datetime, timedelta

import commcredits as cc
from commcredits.credits.billing import BillingDetails
from commcredits.credits.funding import OrderRequest, place_order, review_order
from commcredits.ui.overview import overview_html

CONTOSO = BillingDetails("Contoso Ltd", "1 Microsoft Way", "Redmond", "98052", "US", "", "PO-77", "ap@contoso.com")


def test_step_2_overview_entries_and_lots_all_name_the_invoice():
    ledger = cc.open_ledger(":memory:")
    review, problems = review_order(
        ledger, OrderRequest("250.00", CONTOSO, False, "", ""), order_id="ORDER-21016937A3BC"
    )
    placed = place_order(ledger, review)
    assert problems == [] and placed.invoice_id == "INV-000001"
    entries = ledger.entries()
    assert entries.iloc[0][["invoice_id", "order_id"]].tolist() == ["INV-000001", "ORDER-21016937A3BC"]
    assert ledger.lots().iloc[0]["invoice_id"] == "INV-000001"
    summary, details = overview_html(ledger, now=datetime.now(UTC) + timedelta(minutes=1), locale="en_US")
    assert "Invoice INV-000001 · order ORDER-21016937A3BC" in details
    assert "order:ORDER-21016937A3BC" not in details  # the journal key is not a name people know
    assert "(invoice INV-000001)" in summary  # next expiry card


def test_the_step_2_form_confirms_with_the_invoice_and_the_order():
    from commcredits.ui.funding import FundingForm

    ledger = cc.open_ledger(":memory:")
    form = FundingForm(ledger, locale="en_US")
    form.fields["amount"].value, form.fields["microsoft_number"].value = "100.00", "MS-2026-0042"
    for name, value in (
        ("company", "Contoso Ltd"),
        ("address", "1 Microsoft Way"),
        ("city", "Redmond"),
        ("postal_code", "98052"),
        ("country", "US"),
        ("invoice_email", "ap@contoso.com"),
    ):
        form.fields[name].value = value
    form.review_button.click()
    form.checked.value = True
    form.record_button.click()
    assert ledger.lots().iloc[0]["order_id"] == "MS-2026-0042"
    assert "Microsoft number MS-2026-0042 (kept here as INV-000001)" in form.status.value
