"""In real Chromium: Overview and Usage show the calls needing attention; Overview compares with the admin center."""

import pytest
from playwright.sync_api import expect

import commcredits as cc

pytestmark = pytest.mark.browser


def test_overview_lists_calls_needing_attention_and_compares_with_the_admin_center(page, served, artifacts):
    ledger = cc.open_ledger(served.db)
    summary = cc.call_charges(ledger)["status"].value_counts()
    assert summary.get("other_currency", 0) > 0 and summary.get("estimate", 0) > 0  # the demo has both
    page.goto(f"{served.base}/voila/render/00_overview.ipynb", wait_until="commit")
    attention = page.locator(".cc-attention").first
    attention.wait_for(state="visible", timeout=120_000)
    expect(attention).to_contain_text("charged in EUR")
    expect(attention).to_contain_text("an estimate from the rate card")
    assert 1 <= page.locator(".cc-attention-calls tbody tr").count() <= 5  # the rest on the Usage page
    expect(page.locator(".cc-lots")).to_contain_text("INV-")  # open lots by invoice number
    field = page.locator(".cc-rec-shown-input input")
    field.fill("not a number")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".cc-rec-result .cc-error")).to_contain_text("Balance shown", timeout=30_000)
    field.fill("100.00")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".cc-rec-explanations")).to_contain_text("estimate", timeout=30_000)
    assert "Traceback" not in page.content()
    page.locator(".cc-attention").first.screenshot(path=str(artifacts / "00-overview-attention.png"))
    page.locator(".cc-reconcile").screenshot(path=str(artifacts / "00-overview-reconcile.png"))
    kept = cc.reconciliations(cc.open_ledger(served.db))
    assert len(kept) == 1 and kept.iloc[0]["shown"] == 100


def test_usage_page_lists_calls_needing_attention(page, served, artifacts):
    page.goto(f"{served.base}/voila/render/04_usage.ipynb", wait_until="commit")
    section = page.locator(".cc-attention-section .cc-attention")
    section.wait_for(state="visible", timeout=120_000)
    expect(section).to_contain_text("charged in EUR")
    assert "(estimate)" in page.locator(".cc-attention-calls").inner_text()
    assert "Traceback" not in page.content()
    page.locator(".cc-attention-section").screenshot(path=str(artifacts / "04-usage-attention.png"))
