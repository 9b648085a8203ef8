"""The Overview page's content, computed without a browser on the demo tenant."""

from commcredits import format_money, open_ledger
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
