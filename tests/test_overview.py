"""The Overview page's content, computed without a browser on the demo tenant."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from commcredits import format_money, open_ledger
from commcredits.credits.rollups import fresh_mark
from commcredits.credits.settlement import settle
from commcredits.licensing.readiness import readiness_summary
from commcredits.store import Store
from commcredits.ui import charts
from commcredits.ui.overview import build_overview, overview_charts, overview_html, overview_parts


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


def test_who_cannot_dial_out_is_said_once_and_who_needs_a_credits_license_still_shows(demo_db_path):
    """The alert above the readiness line and the line itself said the same sentence in two colours."""
    ledger = open_ledger(demo_db_path)
    ready = readiness_summary(ledger)
    assert ready.not_ready and ready.beyond_included  # the demo has both kinds of users
    summary, _ = overview_html(ledger)
    assert summary.count("cannot dial out") == 1
    line = summary.split('class="cc-readiness cc-warning">')[1].split("</div>")[0]
    assert line.startswith(ready.beyond_sentence) and "Communication Credits license" in line
    assert 'href="03_credit_licenses.ipynb"' in line


def test_overview_charts_plot_the_balance_and_every_lot(demo_db_path):
    ledger = open_ledger(demo_db_path)
    balance, expiry = overview_charts(ledger)
    assert len(balance.data[0].x) >= 365  # one point a day over the demo's 14 months
    assert {trace.name for trace in expiry.data} == {"Spent", "Forfeited", "Still open"}
    lots = ledger.lots()
    days = pd.to_datetime(lots["expires_at"], utc=True).dt.floor("D").nunique()
    assert all(len(trace.x) == days for trace in expiry.data)  # lots bought the same day share a bar
    still_open = expiry.data[[t.name for t in expiry.data].index("Still open")]
    assert sum(still_open.y) == pytest.approx(float(sum(lots["remaining"])))


def test_expiry_bars_stay_visible_when_purchases_expire_minutes_apart():
    """plotly sized every bar by the smallest gap between two of them: two purchases 41 minutes apart made all
    bars slivers and the chart looked empty. Same-day lots share a bar, and every bar is days wide."""
    ledger = open_ledger()
    bought = datetime(2026, 1, 10, 8, 18, tzinfo=UTC)
    ledger.add_funds("25.00", at=bought, order_id="MS-1")
    ledger.add_funds("40.00", at=bought + timedelta(minutes=41), order_id="MS-2")
    ledger.add_funds("10.00", at=bought + timedelta(days=1), order_id="MS-3")
    ledger.add_funds("60.00", at=bought + timedelta(days=90), order_id="MS-4")
    expiry = charts.expiry_chart(ledger.lots(), "USD", now=bought, locale="en_US")
    day = pd.Timedelta(days=1) / pd.Timedelta(milliseconds=1)
    for bar in expiry.data:
        assert len(bar.x) == 3
        assert all(0.8 * day <= width <= 10 * day for width in bar.width)
    still_open = expiry.data[2]
    assert list(still_open.y) == [65.0, 10.0, 60.0]
    first_day = ledger.lots()["invoice_id"].iloc[:2]
    assert all(invoice in still_open.customdata[0] for invoice in first_day)
    assert still_open.customdata[0].startswith("invoices ")


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
    ledger.add_funds("10.00", at=datetime(2025, 1, 1, tzinfo=UTC), order_id="PO-1")
    ledger.set_auto_recharge(amount="10.00", below="5.00")
    start = datetime(2025, 1, 1, 8, tzinfo=UTC)
    calls = pd.DataFrame(
        {
            "usage_id": [f"c{i}" for i in range(200)],
            "start_at": [start + timedelta(days=i // 2) for i in range(200)],
            "charge": ["6.00"] * 200,
        }
    )
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


def test_the_order_column_names_orders_and_recharges_as_an_admin_knows_them(demo_db_path):
    """Never the ledger's internal key ('recharge:after:b183ae9d-…'): the order number, or 'Auto-recharge'
    and whose call set it off."""
    ledger = open_ledger(demo_db_path)
    _, details = overview_html(ledger)
    lots_table = details.split('class="cc-table cc-lots"')[1].split("</table>")[0]
    assert "recharge:" not in details
    recharge = ledger.store.query(
        "SELECT order_id FROM lots WHERE source = 'auto_recharge' AND NOT expired "
        "AND remaining > 0 ORDER BY lot_id DESC LIMIT 1"
    )[0][0]
    (caller,) = ledger.store.query(
        "SELECT coalesce(user_display_name, 'an auto attendant or call queue') FROM pstn_call WHERE usage_id = $1",
        [recharge.split(":", 2)[2]],
    )[0]
    assert f"Auto-recharge after a call by {caller}" in lots_table


def test_an_order_keeps_its_number_and_a_recharge_without_a_call_log_still_reads_plainly():
    ledger = open_ledger()
    at = datetime(2025, 3, 1, 9, tzinfo=UTC)
    ledger.add_funds("60.00", at=at, order_id="PO-7731")
    ledger.set_auto_recharge(amount="25.00", below="50.00")
    ledger.spend("20.00", at=at + timedelta(hours=1), usage_id="manual-charge-1")  # no call log row behind it
    _, details = overview_html(ledger, now=at + timedelta(days=1))
    assert "PO-7731" in details and "Auto-recharge after a call</td>" in details
    assert "Invoice INV-000002 · auto-recharge" in details and "call manual-charge-1" in details  # recent entries
    assert "recharge:" not in details and "usage:" not in details


def test_the_balance_comes_before_the_alerts(demo_db_path):
    """On a phone the alerts above the cards pushed the balance about 1,000 px down."""
    summary, _ = overview_html(open_ledger(demo_db_path))
    assert summary.index("cc-balance") < summary.index('class="cc-alerts"')


def test_a_render_opens_the_ledger_file_once_for_its_reads_and_holds_nothing_after(writable_demo_db, monkeypatch):
    """One read session per render (each open of the file costs about 45 ms, more on a busy machine), and no
    connection kept between renders: another process (a tab, `commcredits check`) can write right after."""
    ledger = open_ledger(writable_demo_db)
    fresh_mark(ledger.store)  # as an earlier render left them (else this one's first write brings them up to date)
    opened = []
    connect = Store._connect
    monkeypatch.setattr(Store, "_connect", lambda self, *a: opened.append(a[0]) or connect(self, *a))
    summary, _, figures = overview_parts(ledger)
    assert len(opened) <= 2 and opened[-1] is True  # the rollups' mark, then one read-only session
    assert format_money(ledger.balance(), "USD") in summary and len(figures) == 2
    other = open_ledger(writable_demo_db)
    other.store.busy_timeout = 0.5  # a held connection would make this fail as busy
    other.add_funds("10.00", at=None, order_id="right-after-a-render")


def test_a_write_inside_a_read_session_is_refused_rather_than_waiting_for_itself(writable_demo_db):
    ledger = open_ledger(writable_demo_db)
    with ledger.store.read_session():
        assert ledger.balance() >= 0
        with pytest.raises(RuntimeError, match="read_session"):
            ledger.add_funds("10.00", at=None, order_id="inside-a-session")
    assert ledger.add_funds("10.00", at=None, order_id="after-the-session")
