"""Step 2 in real Chromium: inline errors change nothing; a double-clicked Place order buys once; two tabs
placing orders at the same moment both land (or one is told to retry), and nothing is lost."""

from decimal import Decimal

import pytest

import commcredits as cc
from funding_page import fill_order, open_funding, review, type_into

pytestmark = pytest.mark.browser


def test_bad_amount_then_double_clicked_order(page, served, artifacts):
    ledger = cc.open_ledger(served.db)
    lots_before = len(ledger.lots())
    balance_before = ledger.balance()
    open_funding(page, served.base)
    fill_order(page, "12,5x")
    page.get_by_role("button", name="Review order").click()
    error = page.locator(".cc-error-amount .cc-error")
    error.wait_for(state="visible", timeout=15_000)
    assert "not an amount" in error.inner_text()
    page.screenshot(path=str(artifacts / "02-funding-error.png"))
    assert len(ledger.lots()) == lots_before

    type_into(page, "cc-amount", "120.00")
    review(page)
    assert "$120.00" in page.locator(".cc-review").inner_text()
    page.screenshot(path=str(artifacts / "02-funding-review.png"))
    page.get_by_role("button", name="Place order").dblclick()
    success = page.locator(".cc-status .cc-success")
    success.wait_for(state="visible", timeout=20_000)
    assert "Order placed" in success.inner_text()
    page.screenshot(path=str(artifacts / "02-funding-placed.png"))
    assert "Traceback" not in page.content()
    lots = ledger.lots()
    assert len(lots) == lots_before + 1
    assert lots.iloc[-1]["amount"] == Decimal("120.00")
    assert ledger.balance() == balance_before + Decimal("120.00")


def test_two_tabs_placing_orders_at_once_lose_nothing(context, served, artifacts):
    ledger = cc.open_ledger(served.db)
    balance_before, lots_before = ledger.balance(), len(ledger.lots())
    tabs = [context.new_page(), context.new_page()]
    for tab, amount in zip(tabs, ("70.00", "60.00")):
        open_funding(tab, served.base)
        fill_order(tab, amount)
        review(tab)
    for tab in tabs:  # both kernels write the same file at the same moment
        tab.get_by_role("button", name="Place order").click(no_wait_after=True)
    outcomes = []
    for tab in tabs:
        result = tab.locator(".cc-status .cc-success, .cc-status .cc-error")
        result.first.wait_for(state="visible", timeout=40_000)
        outcomes.append(result.first.inner_text())
    placed = [text for text in outcomes if "Order placed" in text]
    retry = [text for text in outcomes if "try again" in text]
    assert len(placed) + len(retry) == 2, outcomes
    lots = ledger.lots()
    assert len(lots) == lots_before + len(placed)
    expected = sum((Decimal(a) for a, text in zip(("70.00", "60.00"), outcomes) if "Order placed" in text), Decimal(0))
    assert ledger.balance() == balance_before + expected
