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
    assert "cannot dial out" in page.locator(".cc-readiness").inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=str(artifacts / "00-overview.png"), full_page=True)
    (artifacts / "00-overview-timing.txt").write_text(f"first balance visible after {first_paint:.2f} s\n")
