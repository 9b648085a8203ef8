"""Late call logs: each call is paid at its own time whenever its log arrives; what that changes is corrected by
appended (adjusting) entries, and any arrival order ends where the per-call ledger taking everything in time order
ends (issue 24)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import commcredits as cc
from commcredits.credits import ledger as ledger_module
from commcredits.credits.rollups import refresh_rollups
from commcredits.credits.settlement import settle

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
START = datetime(2024, 1, 20, tzinfo=UTC)


def saved_at(at: datetime):
    """Settings saved inside take effect at `at` (the wall clock of versioned settings)."""

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return at

    return patch("commcredits.versioned.datetime", Clock)


def set_auto_recharge_at(ledger, at: datetime, setting) -> None:
    """The admin saves the auto-recharge setting (amount, below) or turns it off (None) at `at`."""
    with saved_at(at):
        if setting is None:
            ledger.disable_auto_recharge()
        else:
            ledger.set_auto_recharge(amount=setting[0], below=setting[1])


def set_agreement_at(ledger, at: datetime, agreement: str) -> None:
    """The admin records the agreement type at `at`; switching to MCA turns auto-recharge off first, as Microsoft
    asks of MCA tenants."""
    with saved_at(at):
        if agreement == "MCA":
            ledger.disable_auto_recharge()
        ledger.set_agreement(agreement)


def calls_frame(calls) -> pd.DataFrame:
    return pd.DataFrame(
        {"usage_id": [c[0] for c in calls], "start_at": [c[1] for c in calls], "charge": [c[2] for c in calls]}
    )


def test_a_late_call_is_paid_by_the_lot_alive_at_its_time_and_the_expiry_is_adjusted():
    """The issue's scenario: 10.00 bought 12 months and 3 days ago, 50.00 yesterday, a 5.00 call made 4 days ago
    arrives now. Lot 1 pays 5.00 and only 5.00 expires: balance 50.00 (not 45.00), by a new entry."""
    ledger = cc.open_ledger()
    ledger.add_funds("10.00", at=NOW - timedelta(days=365 + 3), order_id="lot-1")
    ledger.add_funds("50.00", at=NOW - timedelta(days=1), order_id="lot-2")
    recorded = ledger.store.query("SELECT * FROM entry ORDER BY entry_id")
    before = datetime.now(UTC)
    report = settle(ledger, calls=calls_frame([("call-1", NOW - timedelta(days=4), "5.00")]))
    assert report.settled == 1 and report.late == 1
    assert ledger.balance(NOW) == Decimal("50.00")
    assert ledger.store.query("SELECT * FROM entry ORDER BY entry_id")[: len(recorded)] == recorded  # nothing rewritten
    lots = ledger.lots().set_index("order_id")
    assert lots.loc["lot-1", "spent"] == Decimal("5.00") and lots.loc["lot-1", "forfeited"] == Decimal("5.00")
    adjusting = ledger.store.query("SELECT kind, amount, adjusts, occurred_at FROM entry WHERE adjusts IS NOT NULL")
    assert adjusting == [("expiry", Decimal("5.00"), "expiry:1", NOW - timedelta(days=365 + 3) + timedelta(days=365))]
    spend = ledger.store.query("SELECT usage_id, call_at, occurred_at FROM entry WHERE kind = 'spend'")
    assert spend == [("call-1", NOW - timedelta(days=4), NOW - timedelta(days=4))]
    # what the ledger said before the log arrived stays answerable
    assert ledger.balance(NOW - timedelta(days=2), known_at=before) == Decimal("0.00")
    assert ledger.balance(NOW - timedelta(days=2)) == Decimal("0.00")
    assert ledger.balance(NOW - timedelta(days=3, hours=12), known_at=before) == Decimal("10.00")
    assert ledger.balance(NOW - timedelta(days=3, hours=12)) == Decimal("5.00")


def test_a_late_call_that_empties_the_balance_reverses_a_later_call_which_becomes_blocked():
    ledger = cc.open_ledger()
    ledger.add_funds("10.00", at=NOW - timedelta(days=10), order_id="A")
    settle(ledger, calls=calls_frame([("later", NOW - timedelta(days=2), "8.00")]))
    report = settle(ledger, calls=calls_frame([("earlier", NOW - timedelta(days=5), "6.00")]))
    assert report.settled == 1 and list(report.blocked_calls["usage_id"]) == ["later"]
    assert ledger.balance(NOW) == Decimal("4.00")
    assert ledger.store.query("SELECT kind, amount, adjusts FROM entry WHERE adjusts IS NOT NULL") == [
        ("spend", Decimal("8.00"), "usage:later")
    ]
    assert ledger.store.query("SELECT usage_id FROM blocked_call") == [("later",)]


def test_a_late_call_can_make_a_blocked_later_call_payable_when_the_journal_is_empty():
    """No entry yet: a blocked call is still a judgement at its time. The late call before it recharges twice,
    which leaves enough for the blocked one."""
    ledger = cc.open_ledger()
    day = NOW - timedelta(days=3)
    set_auto_recharge_at(ledger, day, ("1.00", "0.50"))
    first = settle(ledger, calls=calls_frame([("later", day + timedelta(hours=5), "1.20")]))
    assert list(first.blocked_calls["usage_id"]) == ["later"]
    report = settle(ledger, calls=calls_frame([("earlier", day + timedelta(hours=2), "0.60")]))
    # earlier: 1.00 added before it, 0.40 left (below 0.50): 1.00 more after it; later: 1.40 pays 1.20, and the
    # 0.20 it leaves is below 0.50: 1.00 more
    assert report.late == 1 and report.recharges == 3 and report.blocked == 0 and report.settled == 2
    assert ledger.balance(NOW) == Decimal("1.20")


# ---- the auto-recharge setting in force at each call's time --------------------------------------------------


def _recharge_rows(ledger) -> list[tuple]:
    return ledger.store.query(
        "SELECT order_id, amount FROM lot WHERE source = 'auto_recharge' AND lot_id NOT IN "
        "(SELECT lot_id FROM entry WHERE kind = 'recharge' GROUP BY lot_id HAVING sum(amount) = 0) ORDER BY lot_id"
    )


def test_a_late_call_from_before_auto_recharge_was_turned_off_recharges_and_one_after_does_not():
    on, off = NOW - timedelta(days=10), NOW - timedelta(days=4)
    ledger = cc.open_ledger()
    ledger.add_funds("20.00", at=on - timedelta(days=1), order_id="A")
    set_auto_recharge_at(ledger, on, ("10.00", "5.00"))
    settle(ledger, calls=calls_frame([("early", on + timedelta(days=1), "2.00")]))
    set_auto_recharge_at(ledger, off, None)
    settle(ledger, calls=calls_frame([("after-off", off + timedelta(days=2), "3.00")]))
    # 18.00 left; the late call was made while auto-recharge was on: it leaves 2.00, below 5.00, so it recharges
    report = settle(ledger, calls=calls_frame([("late", on + timedelta(days=3), "16.00")]))
    assert _recharge_rows(ledger) == [("recharge:after:late", Decimal("10.00"))]
    assert report.recharges == 1 and report.recharged == Decimal("10.00")
    # "after-off" now leaves 9.00 (it was made with auto-recharge off: no recharge whatever it leaves)
    assert ledger.balance(NOW) == Decimal("9.00")
    settle(ledger, calls=calls_frame([("late-off", off + timedelta(days=1), "8.00")]))
    assert _recharge_rows(ledger) == [("recharge:after:late", Decimal("10.00"))]
    assert ledger.balance(NOW) == Decimal("1.00")


@pytest.mark.parametrize("in_one_settlement", [True, False], ids=["one backlog", "per-call ledger"])
def test_a_backlog_spanning_a_setting_change_recharges_by_the_setting_at_each_call(in_one_settlement):
    """The admin raises "add this amount" and "balance is below" halfway through a backlog of unsettled calls."""
    day = NOW - timedelta(days=20)
    ledger = cc.open_ledger()
    ledger.add_funds("12.00", at=day, order_id="A")
    set_auto_recharge_at(ledger, day, ("10.00", "5.00"))
    set_auto_recharge_at(ledger, day + timedelta(days=5), ("25.00", "8.00"))
    calls = [
        ("c1", day + timedelta(days=1), "8.00"),  # 4.00 left, below 5.00: +10.00 (old setting)
        ("c2", day + timedelta(days=6), "7.00"),  # 7.00 left, below 8.00: +25.00 (new setting)
        ("c3", day + timedelta(days=7), "25.00"),  # 7.00 left: +25.00
    ]
    if in_one_settlement:
        settle(ledger, calls=calls_frame(calls))
    else:
        with patch.object(ledger_module, "FUTURE_TOLERANCE", timedelta(days=366)):
            for usage_id, at, charge in calls:
                ledger.spend(charge, at=at, usage_id=usage_id)
    assert _recharge_rows(ledger) == [
        ("recharge:after:c1", Decimal("10.00")),
        ("recharge:after:c2", Decimal("25.00")),
        ("recharge:after:c3", Decimal("25.00")),
    ]
    assert ledger.balance(NOW) == Decimal("32.00")


# ---- property: any arrival order ends where the per-call reference in time order ends ------------------------


@st.composite
def timelines(draw):
    """Orders, auto-recharge setting changes, agreement switches (MOSA and MCA) and calls on a timeline, each call
    reported some delay after it happened; the setting at the start is on or off, the agreement MOSA."""
    setting = st.none() | st.tuples(st.integers(100, 3000), st.integers(1, 2000))
    auto = draw(setting)
    events, t, n = [], 0, 0
    for _ in range(draw(st.integers(1, 14))):
        t += draw(st.sampled_from([1, 60, 24 * 60, 20 * 24 * 60, 120 * 24 * 60, 200 * 24 * 60]))
        kind = draw(st.integers(0, 6))
        if kind == 0:
            events.append(("fund", t, draw(st.integers(1, 5000)), f"o{n}"))
        elif kind == 1:
            events.append(("auto", t, draw(setting), f"a{n}"))
        elif kind == 2:
            events.append(("agreement", t, draw(st.sampled_from(["MCA", "MOSA"])), f"g{n}"))
        else:
            delay = draw(st.sampled_from([0, 0, 30, 36 * 60, 3 * 24 * 60, 40 * 24 * 60, 400 * 24 * 60]))
            events.append(("call", t, draw(st.integers(1, 3000)), f"u{n:03d}", delay))
        n += 1
    return auto, events


def _at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def reference(auto, events) -> cc.Ledger:
    """Microsoft's order: everything at its own time, one by one (an order first when both happen at once)."""
    ledger = _opened(auto)
    for e in sorted(events, key=lambda e: (e[1], e[0] == "call", e[3])):
        if e[0] != "call":
            _order(ledger, e)
        else:
            try:
                ledger.spend(Decimal(e[2]) / 100, at=_at(e[1]), usage_id=e[3])
            except cc.InsufficientCredits:
                pass
    return ledger


def arrivals(auto, events) -> cc.Ledger:
    """The same orders when they happen; each call's log when it arrives (call time + delay), settled in a batch
    with the others arriving before the next order (every log has arrived by the end); the rollups refreshed after
    some batches (settlement reads the lots from them)."""
    ledger = _opened(auto)
    calls = [e for e in events if e[0] == "call"]
    done: set[str] = set()
    for order in [e for e in events if e[0] != "call"] + [None]:
        due = [c for c in calls if c[3] not in done and (order is None or c[1] + c[4] < order[1])]
        if due:
            settle(ledger, calls=calls_frame([(c[3], _at(c[1]), str(Decimal(c[2]) / 100)) for c in due]))
            done |= {c[3] for c in due}
            if len(done) % 2:  # as a page read would: later settlements then read lots from the rollups
                with ledger.store.transaction() as con:
                    refresh_rollups(con)
        if order is not None:
            _order(ledger, order)
    return ledger


def _opened(auto) -> cc.Ledger:
    ledger = cc.open_ledger()
    set_agreement_at(ledger, _at(0), "MOSA")
    _order(ledger, ("auto", 0, auto))
    return ledger


def _order(ledger, event) -> None:
    """A purchase, an auto-recharge change or an agreement switch, when it happens (refused ones change nothing,
    in both ledgers alike: an MCA tenant cannot buy or turn auto-recharge on)."""
    kind, at = event[0], _at(event[1])
    try:
        if kind == "fund":
            ledger.add_funds(Decimal(event[2]) / 100, at=at, order_id=event[3])
        elif kind == "agreement":
            set_agreement_at(ledger, at, event[2])
        else:
            amounts = event[2] and (Decimal(event[2][0]) / 100, Decimal(event[2][1]) / 100)
            set_auto_recharge_at(ledger, at, amounts)
    except cc.NotAllowedForAgreement:
        pass


NET = {
    "lots": """SELECT l.purchased_at, l.expires_at, l.amount, l.source, l.order_id FROM lot l
               WHERE l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind IN ('purchase', 'recharge')
                                      GROUP BY lot_id HAVING sum(amount) = 0)
               ORDER BY l.purchased_at, l.order_id""",
    "allocations": """SELECT CASE WHEN e.kind = 'expiry' THEN 'expiry' ELSE coalesce(e.adjusts, entry_key(e.idempotency_key, e.usage_id)) END,
                             l.order_id, sum(a.amount) AS amount
                      FROM allocation a JOIN entry e USING (entry_id) JOIN lot l ON l.lot_id = a.lot_id
                      GROUP BY ALL HAVING sum(a.amount) <> 0 ORDER BY ALL""",
}


@settings(
    max_examples=int(os.environ.get("SETTLEMENT_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(timelines())
def test_any_arrival_order_ends_where_the_per_call_reference_in_time_order_ends(timeline):
    auto, events = timeline
    with patch.object(ledger_module, "FUTURE_TOLERANCE", timedelta(days=100 * 366)):
        want, got = reference(auto, events), arrivals(auto, events)
        end = _at(max(e[1] for e in events))
        for ledger in (want, got):
            ledger.expire(end)  # every expiry due by the last event recorded in both
    for name, sql in NET.items():
        assert got.store.query(sql) == want.store.query(sql), name
    for e in events:
        for at in (_at(e[1]), _at(e[1]) + timedelta(days=366)):
            assert got.balance(at) == want.balance(at), at
    blocked = "SELECT usage_id FROM entry WHERE kind = 'spend' GROUP BY usage_id HAVING sum(amount) <> 0 ORDER BY 1"
    assert got.store.query(blocked) == want.store.query(blocked)
    arrears = "SELECT usage_id, sum(amount) FROM usage_in_arrears GROUP BY 1 HAVING sum(amount) <> 0 ORDER BY 1"
    assert got.store.query(arrears) == want.store.query(arrears)


# ---- the auto-recharge boundary: "balance is below" the trigger, strictly ------------------------------------


def _per_call(ledger, calls):
    for usage_id, at, charge in calls:
        try:
            ledger.spend(charge, at=at, usage_id=usage_id)
        except cc.InsufficientCredits:
            pass


def _set_based(ledger, calls):
    settle(ledger, calls=calls_frame(calls))


def _recharges(ledger) -> list[str]:
    return [k for (k,) in ledger.store.query("SELECT order_id FROM lot WHERE source = 'auto_recharge' ORDER BY lot_id")]


@pytest.mark.parametrize("pay", [_per_call, _set_based], ids=["per-call ledger", "set-based settlement"])
def test_a_balance_exactly_at_the_trigger_does_not_recharge(pay):
    """Microsoft recharges when the balance "is below" the trigger: 5.00 left with a 5.00 trigger is not below."""
    day = datetime(2026, 11, 2, tzinfo=UTC)
    after = cc.open_ledger()  # a call leaves exactly the trigger: no recharge after it
    after.add_funds("20.00", at=day, order_id="A")
    after.set_auto_recharge(amount="10.00", below="5.00")
    pay(
        after,
        [
            ("c1", day + timedelta(hours=1), "15.00"),
            ("c2", day + timedelta(hours=2), "6.00"),
            ("c3", day + timedelta(hours=3), "1.00"),
        ],
    )
    # c1 leaves 5.00 (not below); c2 cannot be paid from 5.00 and 5.00 is not below: blocked, no recharge before;
    # c3 leaves 4.00, below: one recharge after it
    assert _recharges(after) == ["recharge:after:c3"] and after.balance(day + timedelta(hours=4)) == Decimal("14.00")
    before = cc.open_ledger()  # a recharge before a call, which then leaves exactly the trigger
    before.add_funds("4.00", at=day, order_id="A")
    before.set_auto_recharge(amount="10.00", below="5.00")
    pay(before, [("c1", day + timedelta(hours=1), "9.00")])
    assert _recharges(before) == ["recharge:before:c1"] and before.balance(day + timedelta(hours=2)) == Decimal("5.00")


def test_auto_recharge_turned_on_after_calls_were_paid_does_not_recharge_for_them_when_a_late_log_comes():
    """Auto-recharge was never saved (off, as the workbook assumes until one is) while calls were paid; the admin turns it on later.
    A late call from before must not make the ledger recharge back then, when it was off."""
    ledger = cc.open_ledger()
    ledger.add_funds("10.00", at=NOW - timedelta(days=30), order_id="A")
    settle(ledger, calls=calls_frame([("paid", NOW - timedelta(days=25), "6.00")]))
    ledger.set_auto_recharge(amount="50.00", below="5.00")  # saved now, after the call above was paid with it off
    late = settle(ledger, calls=calls_frame([("late", NOW - timedelta(days=28), "1.00")]))
    assert late.recharges == 0 and late.blocked == 0
    assert ledger.balance(NOW - timedelta(days=24)) == Decimal("3.00")
    assert ledger.store.query("SELECT count(*) FROM lot WHERE source <> 'order'") == [(0,)]


def test_calls_blocked_for_want_of_funds_are_paid_once_auto_recharge_is_saved_and_they_are_settled_again():
    """Day one, calls imported before the first purchase: all blocked. Step 2 saves auto-recharge with the purchase
    (the blocked-calls notice says so), and settling again pays them by that setting."""
    ledger = cc.open_ledger()
    calls = calls_frame([("a", NOW - timedelta(days=20), "8.00"), ("b", NOW - timedelta(days=19), "9.00")])
    assert settle(ledger, calls=calls).blocked == 2
    ledger.set_auto_recharge(amount="50.00", below="5.00")
    ledger.add_funds("10.00", at=NOW - timedelta(days=21), order_id="A")
    again = settle(ledger, calls=calls)
    assert again.blocked == 0 and again.recharges == 1
    assert ledger.balance(NOW - timedelta(days=18)) == Decimal("43.00")
