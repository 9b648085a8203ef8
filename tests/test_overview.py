"""The Overview page's content, computed without a browser on the demo tenant."""

from datetime import datetime, timedelta, timezone

import pandas as pd

from commcredits import format_money, open_ledger
from commcredits.credits.settlement import settle
from commcredits.ui import charts
from commcredits.ui.overview import build_overview, overview_charts, overview_html


def test_overview_shows_balance_runway_readiness_and_expiring_funds(demo_db_path):
    ledger = open_ledger(demo_db_path)
    summary, details = overview_html(ledger)
    assert format_money(ledger.balance(), "USD") in summary
    assert "Runway" in summary and "until auto-recharge" in summary
    assert "cannot dial out" in summary
    # the way out is a link to each step, not just its name
    assert '<a href="01_licenses.ipynb">Step 1 · Licenses</a>' in summary
    assert '<a href="03_credit_licenses.ipynb">Step 3 · Credit licenses</a>' in summary
    assert "Funds expiring soon" in details and "next 90 days" in details
    assert "Auto-recharge" in details  # the open lot came from a recharge
    # each recent call charge says who called and where, not just an id
    assert "call out · to " in details or "toll-free call in" in details


def test_overview_charts_plot_the_balance_and_every_lot(demo_db_path):
    ledger = open_ledger(demo_db_path)
    balance, expiry = overview_charts(ledger)
    assert len(balance.data[0].x) >= 365  # one point a day over the demo's 14 months
    assert {trace.name for trace in expiry.data} == {"Spent", "Forfeited", "Still open"}
    assert all(len(trace.x) == len(ledger.lots()) for trace in expiry.data)


def test_refresh_reads_the_ledger_again(writable_demo_db):
    ledger = open_ledger(writable_demo_db)
    page = build_overview(ledger)
    ledger.add_funds("1234.00", at=None, order_id="refresh-test")
    assert "$1,234.00" not in page.children[1].value
    page.children[0].click()
    assert format_money(ledger.balance(), "USD") in page.children[1].value


def test_a_tenant_with_thousands_of_recharges_sees_one_expiry_bar_per_month():
    """A bar per lot is unreadable past a few dozen lots (and 27,000 bars kept a big tenant's Overview blank for
    over a minute): many lots are summed per expiry month, each month saying how many purchases it holds."""
    ledger = open_ledger()
    ledger.add_funds("10.00", at=datetime(2025, 1, 1, tzinfo=timezone.utc), order_id="PO-1")
    ledger.set_auto_recharge(amount="10.00", below="5.00")
    start = datetime(2025, 1, 1, 8, tzinfo=timezone.utc)
    calls = pd.DataFrame({"usage_id": [f"c{i}" for i in range(200)],
                          "start_at": [start + timedelta(days=i // 2) for i in range(200)],
                          "charge": ["6.00"] * 200})
    settle(ledger, calls=calls)
    lots = ledger.lots()
    assert len(lots) > charts.MAX_LOT_BARS
    expiry = charts.expiry_chart(lots, "USD", locale="en_US")
    months = charts.expiry_months(lots)
    assert all(len(trace.x) == len(months) <= 5 for trace in expiry.data)
    assert sum(months["lots"]) == len(lots)
    assert sum(months["spent"]) == sum(lots["spent"]) and sum(months["remaining"]) == sum(lots["remaining"])
    assert expiry.layout.title.text.startswith("Purchases by expiry month")
    assert any(label.endswith(" purchases") and label.startswith("January 2026") for label in expiry.data[0].customdata)
