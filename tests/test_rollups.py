"""The dashboard's rollups: views that read them give what the full recomputation gives, refreshed or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

import commcredits as cc
from commcredits.credits.rollups import fresh_mark, refresh_rollups
from commcredits.credits.settlement import settle
from commcredits.usage import insights
from commcredits.usage.call_import import import_pstn_calls

PAGES = Path(__file__).parent / "fixtures" / "calls" / "graph_pages"
T0 = datetime(2025, 1, 1, tzinfo=UTC)

# What the views computed before the rollups, straight from the ledger (the reference).
REFERENCE = {
    "lots": """
        SELECT l.lot_id, COALESCE(SUM(a.amount), 0)::DECIMAL(18, 2) AS remaining,
               COALESCE(-SUM(a.amount) FILTER (WHERE e.kind = 'spend'), 0)::DECIMAL(18, 2) AS spent,
               COALESCE(-SUM(a.amount) FILTER (WHERE e.kind = 'expiry'), 0)::DECIMAL(18, 2) AS forfeited,
               bool_or(e.kind = 'expiry') IS TRUE AS expired
        FROM lot l LEFT JOIN allocation a USING (lot_id) LEFT JOIN entry e ON e.entry_id = a.entry_id
        GROUP BY ALL ORDER BY lot_id""",
    "spend_by_user": """
        SELECT coalesce(user_principal_name, '(no user: auto attendant, call queue or bot)') AS k, count(*) AS calls,
               sum(coalesce(duration_seconds, 0)) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
        FROM call_spend GROUP BY 1 ORDER BY 1""",
    "spend_by_destination": """
        SELECT destination_country AS k, count(*) AS calls, sum(coalesce(duration_seconds, 0)) / 60 AS minutes,
               sum(amount)::DECIMAL(18, 2) AS amount FROM call_spend GROUP BY 1 ORDER BY 1""",
    "spend_by_call_type": """
        SELECT coalesce(call_type, '(unknown)') AS k, count(*) AS calls,
               sum(coalesce(duration_seconds, 0)) / 60 AS minutes, sum(amount)::DECIMAL(18, 2) AS amount
        FROM call_spend GROUP BY 1 ORDER BY 1""",
    "spend_by_month": """
        SELECT month AS k, count(*) AS calls, sum(coalesce(duration_seconds, 0)) / 60 AS minutes,
               sum(amount)::DECIMAL(18, 2) AS amount FROM call_spend GROUP BY 1 ORDER BY 1""",
    "spend_by_number": """
        SELECT coalesce(CASE WHEN suffix(p.call_type, '_in') THEN p.callee_number ELSE p.caller_number END, '(unknown)')
                   AS k, count(*) AS calls, sum(coalesce(s.duration_seconds, 0)) / 60 AS minutes,
               sum(amount)::DECIMAL(18, 2) AS amount
        FROM call_spend s LEFT JOIN pstn_call p USING (usage_id) GROUP BY 1 ORDER BY 1""",
    "daily_balance": """
        WITH days AS (SELECT unnest(generate_series(date_trunc('day', min(occurred_at)),
                                                    date_trunc('day', max(occurred_at)), INTERVAL 1 DAY)) AS day
                      FROM entry),
             moves AS (SELECT date_trunc('day', occurred_at) AS day, sum(amount) AS change,
                              sum(amount) FILTER (WHERE kind = 'spend') AS spent,
                              sum(amount) FILTER (WHERE kind IN ('purchase', 'recharge')) AS added,
                              sum(amount) FILTER (WHERE kind = 'expiry') AS expired
                       FROM entry GROUP BY 1)
        SELECT d.day::DATE, sum(coalesce(m.change, 0)) OVER (ORDER BY d.day)::DECIMAL(18, 2),
               coalesce(m.added, 0)::DECIMAL(18, 2), coalesce(-m.spent, 0)::DECIMAL(18, 2),
               coalesce(-m.expired, 0)::DECIMAL(18, 2)
        FROM days d LEFT JOIN moves m USING (day) ORDER BY 1""",
}
VIEWS = {
    "lots": "SELECT lot_id, remaining, spent, forfeited, expired FROM lots ORDER BY lot_id",
    "spend_by_user": "SELECT user_principal_name, calls, minutes, amount FROM spend_by_user ORDER BY 1",
    "spend_by_destination": "SELECT * FROM spend_by_destination ORDER BY 1",
    "spend_by_call_type": "SELECT * FROM spend_by_call_type ORDER BY 1",
    "spend_by_month": "SELECT * FROM spend_by_month ORDER BY 1",
    "spend_by_number": "SELECT phone_number, calls, minutes, amount FROM spend_by_number ORDER BY 1",
    "daily_balance": "SELECT * FROM daily_balance ORDER BY day",
}


def assert_views_match(ledger: cc.Ledger) -> None:
    for name, sql in VIEWS.items():
        assert ledger.store.query(sql) == ledger.store.query(REFERENCE[name]), name


def calls(prefix: str, start: datetime, count: int, cents: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "usage_id": [f"{prefix}{i}" for i in range(count)],
            "start_at": [start + timedelta(days=7 * i) for i in range(count)],
            "charge": [f"{cents / 100:.2f}"] * count,
        }
    )


def test_views_on_rollups_equal_the_full_recomputation_whether_refreshed_or_not():
    ledger = cc.open_ledger()
    ledger.add_funds("40.00", at=T0, order_id="PO-1")
    ledger.set_auto_recharge(amount="25.00", below="5.00")
    import_pstn_calls(ledger, PAGES)
    settle(ledger, until=datetime(2025, 3, 31, tzinfo=UTC))
    fresh_mark(ledger.store)  # what a page does before reading
    assert_views_match(ledger)
    ledger.spend("1.50", at=datetime(2025, 4, 1, tzinfo=UTC), usage_id="manual-1")  # after the mark
    assert_views_match(ledger)
    settle(ledger, calls=calls("w", datetime(2025, 4, 2, tzinfo=UTC), 70, 300))  # lots expire, recharge
    ledger.spend("0.75", at=datetime(2026, 9, 1, tzinfo=UTC), usage_id="manual-2")
    assert_views_match(ledger)
    with ledger.store.transaction() as con:
        assert refresh_rollups(con) >= 1  # the last spend (and what it recorded first)
        assert refresh_rollups(con) == 0
    assert_views_match(ledger)
    expired = ledger.store.query("SELECT count(*) FROM lots WHERE expired")[0][0]
    assert expired >= 1


def test_pages_read_the_rollups_with_the_mark_as_a_constant_and_refresh_it():
    ledger = cc.open_ledger()
    ledger.add_funds("100.00", at=T0, order_id="PO-1")
    import_pstn_calls(ledger, PAGES)
    ledger.spend("2.00", at=datetime(2025, 3, 30, tzinfo=UTC), usage_id="9c4984c7-6c3c-427d-a30c-bd0b2eacee90")
    (last,) = ledger.store.query("SELECT max(entry_id) FROM entry")[0]
    assert ledger.store.query("SELECT rollup_mark_now()")[0][0] == 0
    users = insights.spend_by(ledger, "user")  # refreshes first
    assert ledger.store.query("SELECT rollup_mark_now()")[0][0] == last == fresh_mark(ledger.store)
    assert users["user_principal_name"].tolist() == ["richard.malk@contoso.com"]
    assert [str(a) for a in users["amount"]] == ["2.00"]
    assert insights.spend_by(ledger, "month")["calls"].tolist() == [1]


def test_recent_entries_and_expiring_funds_read_quickly_and_agree_with_the_full_journal():
    ledger = cc.open_ledger()
    ledger.add_funds("40.00", at=T0, order_id="PO-1")
    ledger.set_auto_recharge(amount="25.00", below="5.00")
    import_pstn_calls(ledger, PAGES)
    settle(ledger, until=datetime(2025, 3, 31, tzinfo=UTC))
    settle(ledger, calls=calls("w", datetime(2025, 4, 2, tzinfo=UTC), 30, 300))
    ledger.spend("0.75", at=datetime(2026, 2, 15, tzinfo=UTC), usage_id="manual-2")
    recent = insights.recent_entries(ledger, 6)
    journal = ledger.entries().sort_values("entry_id", ascending=False).head(6)
    assert recent["entry_id"].tolist() == journal["entry_id"].tolist()
    assert recent["balance_after"].tolist() == journal["balance_after"].tolist()
    assert recent["detail"].iloc[0] == "call manual-2"  # the call id, not the internal key (issue 21)
    (last,) = ledger.store.query("SELECT max(occurred_at) FROM entry")[0]
    quick = insights.expiring_funds(ledger, as_of=last)  # from the lots view
    burn = insights.daily_burn(ledger, as_of=last)
    replayed = insights._forfeits(ledger, insights._lots_as_of(ledger, last), last, burn, (30, 60, 90))
    pd.testing.assert_frame_equal(quick, replayed)
