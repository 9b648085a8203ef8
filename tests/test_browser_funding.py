"""Step 2 in real Chromium: inline errors change nothing; a double-clicked Place order buys once."""

from decimal import Decimal

import pytest

import commcredits as cc
from voila_server import voila

pytestmark = pytest.mark.browser


def type_into(page, css_class, value):
    field = page.locator(f".{css_class} input")
    field.fill(value)
    field.press("Tab")  # ipywidgets Text syncs on blur/enter as well as on input


def test_bad_amount_then_double_clicked_order(page, writable_demo_db, artifacts):
    ledger = cc.open_ledger(writable_demo_db)
    lots_before = len(ledger.lots())
    balance_before = ledger.balance()
    with voila(writable_demo_db, log_path=artifacts / "voila-funding.log") as base:
        page.goto(f"{base}/voila/render/02_funding.ipynb", wait_until="commit")
        page.locator(".cc-amount input").wait_for(state="visible", timeout=60_000)
        type_into(page, "cc-amount", "12,5x")
        type_into(page, "cc-company", "Contoso Ltd")
        type_into(page, "cc-address", "1 Microsoft Way")
        type_into(page, "cc-city", "Redmond")
        type_into(page, "cc-postal-code", "98052")
        page.locator(".cc-country select").select_option(label="United States")
        type_into(page, "cc-invoice-email", "ap@contoso.com")
        page.get_by_role("button", name="Review order").click()
        error = page.locator(".cc-error-amount .cc-error")
        error.wait_for(state="visible", timeout=15_000)
        assert "not an amount" in error.inner_text()
        page.screenshot(path=str(artifacts / "funding-error.png"), full_page=True)
        assert len(ledger.lots()) == lots_before

        type_into(page, "cc-amount", "120.00")
        page.get_by_role("button", name="Review order").click()
        page.locator(".cc-review").wait_for(state="visible", timeout=15_000)
        assert "$120.00" in page.locator(".cc-review").inner_text()
        page.screenshot(path=str(artifacts / "funding-review.png"), full_page=True)
        page.get_by_role("button", name="Place order").dblclick()
        success = page.locator(".cc-status .cc-success")
        success.wait_for(state="visible", timeout=20_000)
        assert "Order placed" in success.inner_text()
        page.screenshot(path=str(artifacts / "funding-placed.png"), full_page=True)
        assert "Traceback" not in page.content()
    lots = ledger.lots()
    assert len(lots) == lots_before + 1
    assert lots.iloc[-1]["amount"] == Decimal("120.00")
    assert ledger.balance() == balance_before + Decimal("120.00")
