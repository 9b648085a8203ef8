"""Late call logs on a Microsoft Customer Agreement (MCA): a late call is paid at its own time too. The lots alive
then pay first, what they cannot pay is billed in arrears, and the calls after it are corrected by appended rows
(an adjusting spend entry, one more usage_in_arrears row); a call made before the switch to MCA keeps the rules it
was made under (issue 24)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from test_late_calls import NOW, calls_frame, saved_at, set_agreement_at

import commcredits as cc
from commcredits.credits.settlement import settle

D = Decimal


def arrears(ledger) -> list[tuple]:
    """Every usage_in_arrears row: (usage id, call time, amount), as recorded."""
    return ledger.store.query("SELECT usage_id, occurred_at, amount FROM usage_in_arrears ORDER BY recorded_at, 1")


def paid(ledger, usage_id: str) -> tuple:
    """(drawn from credits, billed in arrears or None, blocked) of a call, net of every row recorded for it."""
    return ledger.store.query(
        """SELECT coalesce((SELECT -sum(amount) FROM entry WHERE kind = 'spend' AND usage_id = $1), 0),
                  (SELECT sum(amount) FROM usage_in_arrears WHERE usage_id = $1),
                  $1 IN (SELECT usage_id FROM blocked_call)""",
        [usage_id],
    )[0]


def mca_ledger(funds: str, bought_days_ago: float, switched_days_ago: float) -> cc.Ledger:
    """A tenant that bought `funds` while on MOSA, then switched to MCA."""
    ledger = cc.open_ledger()
    set_agreement_at(ledger, NOW - timedelta(days=bought_days_ago + 1), "MOSA")
    ledger.add_funds(funds, at=NOW - timedelta(days=bought_days_ago), order_id="A")
    set_agreement_at(ledger, NOW - timedelta(days=switched_days_ago), "MCA")
    return ledger


def test_an_mca_late_call_draws_the_lot_first_and_the_later_call_is_billed_in_arrears_instead():
    ledger = mca_ledger("10.00", bought_days_ago=30, switched_days_ago=20)
    later, earlier = NOW - timedelta(days=5), NOW - timedelta(days=7)
    settle(ledger, calls=calls_frame([("later", later, "8.00")]))
    recorded = ledger.store.query("SELECT * FROM entry ORDER BY entry_id")
    report = settle(ledger, calls=calls_frame([("earlier", earlier, "5.00")]))
    # "earlier" was made first: the lot pays all of it, and "later" now finds 5.00 of its 8.00
    assert report.late == 1 and report.settled == 1 and report.amount == D("5.00")
    assert report.billed_in_arrears == 1 and report.arrears_amount == D("3.00")  # the change: later's 3.00
    assert paid(ledger, "earlier") == (D("5.00"), None, False)
    assert paid(ledger, "later") == (D("5.00"), D("3.00"), False)
    assert arrears(ledger) == [("later", later, D("3.00"))]
    assert ledger.store.query("SELECT kind, amount, adjusts, call_at FROM entry WHERE adjusts IS NOT NULL") == [
        ("spend", D("3.00"), "usage:later", later)
    ]
    assert ledger.store.query("SELECT * FROM entry ORDER BY entry_id")[: len(recorded)] == recorded
    assert ledger.balance(NOW) == D("0.00")
    again = settle(ledger, calls=calls_frame([("earlier", earlier, "5.00"), ("later", later, "8.00")]))
    assert (again.settled, again.conflicts, again.late, len(arrears(ledger))) == (0, 0, 0, 1)
    with pytest.raises(cc.IdempotencyConflict):  # the per-call API sees each call at its full charge
        ledger.spend("7.00", at=NOW, usage_id="later")


def test_an_mca_late_call_from_before_a_lot_expired_is_paid_by_it_and_the_expiry_forfeits_less():
    """The issue's scenario on MCA: the lot bought 12 months and 3 days ago pays a call made 4 days ago."""
    ledger = mca_ledger("10.00", bought_days_ago=365 + 3, switched_days_ago=300)
    after_expiry = NOW - timedelta(days=1)
    first = settle(ledger, calls=calls_frame([("after", after_expiry, "4.00")]))
    assert first.forfeited == D("10.00") and first.arrears_amount == D("4.00")
    report = settle(ledger, calls=calls_frame([("late", NOW - timedelta(days=4), "6.00")]))
    assert report.forfeited == D("-6.00") and report.arrears_amount == D("0.00")
    assert paid(ledger, "late") == (D("6.00"), None, False)
    assert paid(ledger, "after") == (D("0.00"), D("4.00"), False)
    lot = ledger.lots().set_index("order_id").loc["A"]
    assert (lot["spent"], lot["forfeited"]) == (D("6.00"), D("4.00"))


def test_a_late_call_from_before_the_switch_to_mca_is_blocked_by_the_rules_it_was_made_under():
    """MOSA with 2.00 left and auto-recharge off: a 5.00 call cannot be paid, so it is blocked (not billed in
    arrears), even though the tenant is on MCA by the time its log arrives. One made after the switch is."""
    ledger = mca_ledger("2.00", bought_days_ago=30, switched_days_ago=10)
    settle(ledger, calls=calls_frame([("after-switch", NOW - timedelta(days=8), "1.00")]))
    report = settle(
        ledger,
        calls=calls_frame(
            [("before-switch", NOW - timedelta(days=15), "5.00"), ("late", NOW - timedelta(days=9), "4.00")]
        ),
    )
    assert list(report.blocked_calls["usage_id"]) == ["before-switch"]
    assert paid(ledger, "before-switch") == (D("0.00"), None, True)
    # "late" (made on MCA) takes the 2.00 left and 2.00 goes to arrears; "after-switch" now finds nothing left
    assert paid(ledger, "late") == (D("2.00"), D("2.00"), False)
    assert paid(ledger, "after-switch") == (D("0.00"), D("1.00"), False)
    assert report.billed_in_arrears == 2 and report.arrears_amount == D("3.00")


def test_a_late_call_reaches_calls_billed_in_arrears_even_when_the_journal_has_no_entry_after_it():
    """Found by the arrival-order property: on MCA with nothing left, a call goes wholly to arrears and writes no
    entry. A call made before the switch arriving after it still recharges at its time, and the lot it leaves
    pays the MCA call, whose arrears row is reversed by one more row."""
    ledger = cc.open_ledger()
    start = NOW - timedelta(days=10)
    set_agreement_at(ledger, start, "MOSA")
    with saved_at(start):
        ledger.set_auto_recharge(amount="1.00", below="0.01")
    set_agreement_at(ledger, start + timedelta(minutes=3), "MCA")
    settle(ledger, calls=calls_frame([("on-mca", start + timedelta(minutes=7), "0.01")]))
    assert arrears(ledger) == [("on-mca", start + timedelta(minutes=7), D("0.01"))]
    report = settle(ledger, calls=calls_frame([("before", start + timedelta(minutes=2), "0.01")]))
    assert report.late == 1 and report.recharges == 1
    assert paid(ledger, "before") == (D("0.01"), None, False)
    assert paid(ledger, "on-mca") == (D("0.01"), D("0.00"), False)
    assert ledger.balance(NOW) == D("0.98")


def test_the_per_call_ledger_judges_a_call_by_the_agreement_in_force_at_its_time():
    ledger = mca_ledger("2.00", bought_days_ago=30, switched_days_ago=10)
    with pytest.raises(cc.InsufficientCredits):  # made while on MOSA: refused, nothing recorded
        ledger.spend("5.00", at=NOW - timedelta(days=15), usage_id="before-switch")
    ledger.spend("5.00", at=NOW - timedelta(days=9), usage_id="after-switch")
    assert arrears(ledger) == [("after-switch", NOW - timedelta(days=9), D("3.00"))]


def test_a_switch_to_mca_recorded_after_calls_were_paid_keeps_their_mosa_recharges_when_a_late_log_comes():
    """No agreement was ever saved (MOSA is the default, setup saves none): the first row saved is the switch. A late
    call's replay judged every earlier call by it, MCA, and reversed the auto-recharge Microsoft had made (and
    invoiced) on MOSA."""
    ledger = cc.open_ledger()
    ledger.set_auto_recharge(amount="20.00", below="5.00")
    ledger.add_funds("10.00", at=NOW - timedelta(days=30), order_id="A")
    first = settle(ledger, calls=calls_frame([("c1", NOW - timedelta(days=25), "8.00")]))
    assert first.recharges == 1  # 2.00 left, below 5.00: 20.00 added on MOSA
    ledger.disable_auto_recharge()
    ledger.set_agreement("MCA")  # saved now, after the calls above were paid on MOSA
    late = settle(ledger, calls=calls_frame([("late", NOW - timedelta(days=28), "1.00")]))
    assert late.billed_in_arrears == 0 and arrears(ledger) == []
    recharge_lots = "SELECT sum(amount) FROM entry WHERE kind = 'recharge'"
    assert ledger.store.query(recharge_lots) == [(D("20.00"),)]  # not reversed
    assert paid(ledger, "late") == (D("1.00"), None, False) and paid(ledger, "c1") == (D("8.00"), None, False)
    # a call after them, reported later still, is judged by the switch
    settle(ledger, calls=calls_frame([("after", NOW - timedelta(days=10), "30.00")]))
    assert paid(ledger, "after") == (D("21.00"), D("9.00"), False)


def test_an_agreement_saved_before_any_call_holds_for_the_history_imported_after_it():
    """Day one: the setup's answer (MCA) comes before anything is recorded; last month's calls, imported after
    it, are billed in arrears, not blocked."""
    ledger = cc.open_ledger()
    ledger.set_agreement("MCA")
    settle(ledger, calls=calls_frame([("old", NOW - timedelta(days=20), "3.00")]))
    assert paid(ledger, "old") == (D("0.00"), D("3.00"), False)


def test_a_tenant_set_up_on_mosa_that_switches_later_keeps_a_call_blocked_before_the_switch_blocked():
    """The setup saves its MOSA answer (the default) too: the switch is then a second row, and a late call log's
    replay judges the calls before the switch on MOSA: a call the balance could not pay stays blocked."""
    from commcredits.tenant_setup import record_setup

    ledger = record_setup(cc.open_ledger(), organisation="Contoso", currency="USD", agreement="MOSA", time_zone="UTC")
    ledger.add_funds("10.00", at=NOW - timedelta(days=30), order_id="A")
    assert settle(ledger, calls=calls_frame([("big", NOW - timedelta(days=25), "15.00")])).blocked == 1
    ledger.set_agreement("MCA")
    late = settle(ledger, calls=calls_frame([("late", NOW - timedelta(days=28), "2.00")]))
    assert paid(ledger, "big") == (D("0.00"), None, True) and late.billed_in_arrears == 0
