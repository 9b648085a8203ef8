"""The Overview page in real Chromium against a running Voila shows the ledger's balance."""

import time
from decimal import Decimal

import pytest

import commcredits as cc

pytestmark = pytest.mark.browser


def test_overview_shows_the_ledger_balance(page, served, demo_db_path, artifacts):
    started = time.monotonic()
    page.goto(f"{served.base}/voila/render/00_overview.ipynb", wait_until="commit")
    balance_card = page.locator(".cc-card.cc-balance")
    balance_card.wait_for(state="visible", timeout=60_000)
    first_paint = time.monotonic() - started
    shown = Decimal(balance_card.get_attribute("data-amount"))
    expected = cc.open_ledger(demo_db_path).balance()
    assert shown == expected
    assert cc.format_money(expected, "USD") in balance_card.inner_text()
    assert page.locator(".cc-lots tbody tr").count() >= 1
    assert page.get_by_role("button", name="Refresh").is_visible()
    # the interactive charts render (plotly draws SVG inside the output area)
    plots = page.locator(".cc-charts .js-plotly-plot")
    plots.nth(1).wait_for(state="visible", timeout=30_000)
    assert plots.count() == 2
    # who cannot dial out is said once, by the alert; the line under it names who needs a credits license
    assert "cannot dial out" in page.locator(".cc-alerts").inner_text()
    assert "cannot dial out" not in page.locator(".cc-readiness").inner_text()
    assert "Communication Credits license" in page.locator(".cc-readiness").inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(artifacts / "00-overview.png"), full_page=True)
    (artifacts / "00-overview-timing.txt").write_text(f"first balance visible after {first_paint:.2f} s\n")


def test_on_a_phone_the_balance_comes_first_and_orders_read_as_an_admin_knows_them(page, served, artifacts):
    """At 390 px the alerts used to push the balance about 1,000 px down; the Order column showed the
    ledger's internal keys ('recharge:after:…')."""
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{served.base}/voila/render/00_overview.ipynb", wait_until="commit")
    balance = page.locator(".cc-card.cc-balance")
    balance.wait_for(state="visible", timeout=120_000)
    top = balance.bounding_box()["y"]
    assert top < 600, f"the balance starts {top:.0f} px down"  # on the first screen, under the page links
    first_alert = page.locator(".cc-alerts").first.bounding_box()["y"]
    assert top < first_alert
    lots = page.locator(".cc-lots")
    assert "recharge:" not in lots.inner_text()
    assert "Auto-recharge after a call by" in lots.inner_text()
    page.screenshot(path=str(artifacts / "00-overview-390.png"))
