"""One daily burn (issue 20): the runway card, the alerts and the Step 2 guard rails read the same figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from billing_fields import CONTOSO_BILLING

import commcredits as cc
from commcredits.alerts.facts import read_facts
from commcredits.credits import funding
from commcredits.credits.billing import BillingDetails
from commcredits.credits.burn import BURN_WINDOW_DAYS, daily_burn
from commcredits.usage import insights

NOW = datetime.now(UTC)


def spending_ledger():
    """90 days of history: 10.00 a day long ago, 200.00 a day in the last 30 days."""
    ledger = cc.open_ledger(":memory:")
    start = NOW - timedelta(days=91)
    ledger.add_funds("100000.00", at=start, order_id="big")
    for day in range(90):
        at = start + timedelta(days=day + 1)
        ledger.spend("200.00" if at > NOW - timedelta(days=BURN_WINDOW_DAYS) else "10.00", at=at, usage_id=f"d{day}")
    return ledger


def test_runway_alerts_and_guard_rails_use_one_daily_burn():
    ledger = spending_ledger()
    burn = daily_burn(ledger, as_of=NOW)
    assert Decimal("180") < burn <= Decimal("200")  # the recent rate, not the 90-day average (about 70)
    assert insights.runway(ledger, as_of=NOW).daily_burn == burn.quantize(Decimal("0.01"))
    assert read_facts(ledger, now=NOW).daily_burn == burn.quantize(Decimal("0.01"))
    assert insights.daily_burn is funding.daily_burn is daily_burn  # one function, not two that agree today
    billing = BillingDetails(**CONTOSO_BILLING)
    _, problems = funding.review_order(
        ledger, funding.OrderRequest("", billing, True, "50.00", "100.00"), order_id="o-1"
    )
    # about 4 recharges a day at ~190 a day; the 90-day average (about 70) would have let it through
    assert any("about 4 times a day" in p.message for p in problems)
