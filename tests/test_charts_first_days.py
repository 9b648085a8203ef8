"""Overview's charts on a new ledger: a sentence instead of bare axes while there is nothing to draw, then the
first purchase as a visible dot and bar (plotly alone zooms into milliseconds around one day and draws a lone
date bar 1 ms wide)."""

from datetime import UTC, datetime

import pandas as pd

import commcredits as cc
from commcredits.ui import charts
from commcredits.ui.overview import overview_charts


class Output:
    outputs = ()


def shown(ledger) -> list[dict]:
    output = Output()
    charts.show_in(output, overview_charts(ledger, locale="en_US"))
    return [part["data"] for part in output.outputs]


def test_an_empty_ledger_shows_each_charts_title_and_why_it_is_empty(tmp_path):
    ledger = cc.open_ledger(tmp_path / "new.duckdb", currency="EUR", agreement="MOSA")
    parts = shown(ledger)
    assert [p["text/plain"] for p in parts] == [
        "Balance at the end of each day",
        charts.NO_BALANCE_YET,
        "Purchases by expiry date (12 months after purchase)",
        charts.NO_PURCHASES_YET,
    ]
    assert not any(charts.PLOTLY_MIMETYPE in p for p in parts)
    assert 'class="cc-hint cc-chart-empty"' in parts[1]["text/html"]


def test_the_first_purchase_is_a_dot_and_a_bar_that_can_be_seen(tmp_path):
    ledger = cc.open_ledger(tmp_path / "new.duckdb", currency="EUR", agreement="MOSA")
    bought = datetime(2026, 12, 4, 9, tzinfo=UTC)
    ledger.add_funds("250.00", at=bought, order_id="MS-1")
    balance, expiry = overview_charts(ledger, locale="en_US")
    assert "markers" in balance.data[0].mode
    start, end = (pd.Timestamp(x) for x in balance.layout.xaxis.range)
    assert (end - start) == pd.Timedelta(days=6)  # days around the purchase, not milliseconds
    assert all(list(bar.width) == [charts.ONE_BAR_WIDTH_MS] for bar in expiry.data)
    start, end = (pd.Timestamp(x) for x in expiry.layout.xaxis.range)
    expires = pd.Timestamp(ledger.lots().iloc[0]["expires_at"])
    assert start < expires - pd.Timedelta(days=5) and expires + pd.Timedelta(days=5) < end  # the whole bar
    parts = shown(ledger)
    assert sum(charts.PLOTLY_MIMETYPE in p for p in parts) == 2
