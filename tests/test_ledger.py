"""The ledger as users see it: funding, FIFO spending, expiry, auto-recharge, idempotency, bad input."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from scenario import ledger_from, run, utc

import commcredits as cc


def D(text):
    return Decimal(text)


def test_funds_then_spend_draws_oldest_lot_first_and_may_span_lots():
    ledger = ledger_from(
        """
        2025-01-10 fund 100.00 as A
        2025-02-10 fund 50.00 as B
        """
    )
    allocations = ledger.spend("120.50", at=utc("2025-03-01"), usage_id="call-1")
    assert allocations == [(1, D("100.00")), (2, D("20.50"))]
    assert ledger.balance(utc("2025-03-01")) == D("29.50")
    lots = ledger.lots().set_index("lot_id")
    assert lots.loc[1, "remaining"] == D("0.00") and lots.loc[2, "remaining"] == D("29.50")


def test_lot_expires_twelve_calendar_months_later_end_of_month_clamped():
    ledger = ledger_from("2024-02-29T15:00 fund 10.00 as leap")
    lot = ledger.lots().iloc[0]
    assert lot["expires_at"].to_pydatetime() == datetime(2025, 2, 28, 15, 0, tzinfo=UTC)


def test_expiry_forfeits_exactly_the_remainder_once():
    ledger = ledger_from(
        """
        2025-01-10 fund 100.00 as A
        2025-06-01 spend 30.00 as c1
        """
    )
    assert ledger.expire(utc("2026-01-09")) == D("0.00")
    assert ledger.expire(utc("2026-01-10")) == D("70.00")
    assert ledger.expire(utc("2026-02-01")) == D("0.00")
    assert ledger.balance(utc("2026-01-10")) == D("0.00")
    expiries = ledger.entries().query("kind == 'expiry'")
    assert len(expiries) == 1 and expiries.iloc[0]["amount"] == D("-70.00")
    assert expiries.iloc[0]["occurred_at"].to_pydatetime() == utc("2026-01-10")


def test_spend_never_draws_from_a_lot_expired_at_that_instant():
    ledger = ledger_from(
        """
        2025-01-10 fund 100.00 as old
        2025-06-10 fund 20.00 as new
        """
    )
    with pytest.raises(cc.InsufficientCredits):
        ledger.spend("50.00", at=utc("2026-01-10"), usage_id="late")
    assert ledger.spend("15.00", at=utc("2026-01-10"), usage_id="ok") == [(2, D("15.00"))]


def test_balance_as_of_any_instant_matches_history():
    ledger = ledger_from(
        """
        2025-01-10 fund 100.00 as A
        2025-02-01 spend 12.40 as c1
        2025-03-01 spend 7.60 as c2
        """
    )
    assert ledger.balance(utc("2025-01-09")) == D("0.00")
    assert ledger.balance(utc("2025-01-10")) == D("100.00")
    assert ledger.balance(utc("2025-02-15")) == D("87.60")
    assert ledger.balance(utc("2025-03-01")) == D("80.00")
    # a future instant counts the expiry that is due by then, before it is recorded
    assert ledger.balance(utc("2026-01-10")) == D("0.00")
    assert ledger.entries()["amount"].sum() == D("80.00")


def test_auto_recharge_after_a_spend_leaves_balance_below_trigger_with_one_invoice():
    ledger = ledger_from(
        """
        2025-01-10 fund 50.00 as A
        2025-01-10 auto-recharge 25.00 below 10.00
        2025-01-11 spend 39.99 as c1   # leaves 10.01: not below 10.00
        2025-01-12 spend 0.02 as c2    # leaves 9.99: recharge
        """
    )
    assert ledger.balance(utc("2025-01-12")) == D("34.99")
    invoices = ledger.invoices()
    assert list(invoices["reason"]) == ["order", "auto_recharge"]
    assert invoices.iloc[1]["amount"] == D("25.00")
    assert list(ledger.lots()["source"]) == ["order", "auto_recharge"]


def test_auto_recharge_before_a_spend_the_balance_cannot_cover():
    ledger = ledger_from(
        """
        2025-01-10 fund 5.00 as A
        2025-01-10 auto-recharge 30.00 below 10.00
        """
    )
    allocations = ledger.spend("20.00", at=utc("2025-01-11"), usage_id="c1")
    assert allocations == [(1, D("5.00")), (2, D("15.00"))]
    assert ledger.balance(utc("2025-01-11")) == D("15.00")
    assert len(ledger.invoices()) == 2


def test_spend_larger_than_one_recharge_is_refused_and_records_nothing():
    ledger = ledger_from(
        """
        2025-01-10 fund 5.00 as A
        2025-01-10 auto-recharge 10.00 below 10.00
        """
    )
    before = ledger.entries()
    with pytest.raises(cc.InsufficientCredits) as error:
        ledger.spend("50.00", at=utc("2025-01-11"), usage_id="big")
    assert "50.00 USD needed" in str(error.value)
    assert ledger.entries().equals(before)
    assert len(ledger.invoices()) == 1


def test_replayed_order_and_usage_change_nothing_and_return_the_original():
    ledger = ledger_from("2025-01-10 fund 100.00 as A")
    first = ledger.spend("10.00", at=utc("2025-01-11"), usage_id="c1")
    entries = ledger.entries()
    again_lot = ledger.add_funds("100.00", at=utc("2025-01-12"), order_id="A")
    again = ledger.spend("10.00", at=utc("2025-01-11"), usage_id="c1")
    assert again == first and again_lot.lot_id == 1
    assert len(ledger.entries()) == len(entries)
    assert ledger.balance(utc("2025-01-12")) == D("90.00")


def test_same_key_with_another_amount_is_a_conflict():
    ledger = ledger_from("2025-01-10 fund 100.00 as A\n2025-01-11 spend 10.00 as c1")
    with pytest.raises(cc.IdempotencyConflict, match="order_id"):
        ledger.add_funds("200.00", at=utc("2025-01-12"), order_id="A")
    with pytest.raises(cc.IdempotencyConflict, match="usage_id"):
        ledger.spend("11.00", at=utc("2025-01-12"), usage_id="c1")


@pytest.mark.parametrize(
    "amount, message",
    [
        ("0", "greater than zero"),
        ("-5", "greater than zero"),
        ("12.345", "too many decimals"),
        ("abc", "not a number"),
        ("", "empty"),
        (12.5, "float"),
        ("NaN", "not a number"),
    ],
)
def test_bad_amounts_name_the_field_and_change_nothing(amount, message):
    ledger = ledger_from("2025-01-10 fund 100.00 as A")
    with pytest.raises(cc.InvalidAmount, match=message) as error:
        ledger.add_funds(amount, at=utc("2025-01-11"), order_id="B")
    assert error.value.field == "amount"
    assert isinstance(error.value, ValueError)
    assert len(ledger.entries()) == 1


def test_yen_has_no_minor_units():
    ledger = ledger_from(currency="JPY")
    ledger.add_funds("5000", at=utc("2025-01-10"), order_id="A")
    with pytest.raises(cc.InvalidAmount, match="whole units"):
        ledger.spend("10.5", at=utc("2025-01-11"), usage_id="c1")
    assert ledger.balance(utc("2025-01-11")) == Decimal("5000")


def test_naive_and_backdated_times_are_refused():
    ledger = ledger_from("2025-01-10 fund 100.00 as A")
    with pytest.raises(cc.InvalidTime, match="timezone"):
        ledger.spend("1.00", at=datetime(2025, 1, 11), usage_id="c1")
    with pytest.raises(cc.InvalidTime, match="before the last recorded entry"):
        ledger.spend("1.00", at=utc("2025-01-09"), usage_id="c2")
    other_zone = timezone(timedelta(hours=-8))
    ledger.spend("1.00", at=datetime(2025, 1, 10, 20, 0, tzinfo=other_zone), usage_id="c3")
    assert ledger.entries().iloc[-1]["occurred_at"].to_pydatetime() == utc("2025-01-11T04:00")


def test_missing_ids_are_refused():
    ledger = ledger_from()
    with pytest.raises(cc.InvalidInput, match="order_id"):
        ledger.add_funds("10.00", at=utc("2025-01-10"), order_id=" ")


def test_mca_tenants_buy_nothing_and_usage_is_billed_in_arrears():
    ledger = ledger_from(agreement="MCA")
    with pytest.raises(cc.NotAllowedForAgreement, match="Microsoft Customer Agreement"):
        ledger.add_funds("50.00", at=utc("2025-01-10"), order_id="A")
    with pytest.raises(cc.NotAllowedForAgreement, match="auto-recharge"):
        ledger.set_auto_recharge(amount="50.00", below="10.00")
    assert ledger.spend("3.20", at=utc("2025-01-11"), usage_id="c1") == []
    assert ledger.spend("3.20", at=utc("2025-01-11"), usage_id="c1") == []
    assert ledger.balance(utc("2025-01-12")) == D("0.00")
    arrears = ledger.store.query("SELECT usage_id, amount FROM usage_billed_in_arrears")
    assert arrears == [("c1", D("3.20"))]


def test_after_switching_to_mca_the_remaining_lots_pay_first_then_arrears():
    # "Turn off Communication Credits auto recharge for MCA customers": the remaining balance is consumed
    # before usage is billed after the fact.
    ledger = ledger_from("2025-01-10 fund 10.00 as A\n2025-01-11 fund 5.00 as B")
    ledger.set_agreement("MCA")
    assert ledger.spend("8.00", at=utc("2025-01-12"), usage_id="c1") == [(1, D("8.00"))]
    # 7.00 left: this call takes it all (A then B) and the other 2.00 is billed in arrears
    assert ledger.spend("9.00", at=utc("2025-01-13"), usage_id="c2") == [(1, D("2.00")), (2, D("5.00"))]
    assert ledger.spend("4.00", at=utc("2025-01-14"), usage_id="c3") == []
    assert ledger.balance(utc("2025-01-15")) == D("0.00")
    arrears = ledger.store.query("SELECT usage_id, amount FROM usage_billed_in_arrears ORDER BY usage_id")
    assert arrears == [("c2", D("2.00")), ("c3", D("4.00"))]
    # the split call replays as one call of 9.00: nothing new, and another amount is a conflict
    before = len(ledger.entries())
    assert ledger.spend("9.00", at=utc("2025-01-15"), usage_id="c2") == [(1, D("2.00")), (2, D("5.00"))]
    assert len(ledger.entries()) == before
    with pytest.raises(cc.IdempotencyConflict, match="9.00"):
        ledger.spend("7.00", at=utc("2025-01-15"), usage_id="c2")


def test_mca_lots_still_expire_and_expired_money_does_not_pay():
    ledger = ledger_from("2025-01-10 fund 10.00 as A")
    ledger.set_agreement("MCA")
    assert ledger.spend("3.00", at=utc("2026-01-11"), usage_id="c1") == []
    assert ledger.entries()["kind"].tolist() == ["purchase", "expiry"]
    assert ledger.store.query("SELECT amount FROM usage_billed_in_arrears") == [(D("3.00"),)]


def test_switching_to_mca_requires_auto_recharge_off():
    ledger = ledger_from("2025-01-10 auto-recharge 50.00 below 10.00")
    with pytest.raises(cc.NotAllowedForAgreement, match="Turn auto-recharge off"):
        ledger.set_agreement("MCA")
    ledger.disable_auto_recharge()
    ledger.set_agreement("MCA")
    assert ledger.agreement is cc.Agreement.MCA
    assert ledger.auto_recharge == cc.AutoRecharge(False)


def test_unknown_agreement_and_currency_are_clear_errors():
    with pytest.raises(cc.InvalidInput, match="agreement"):
        cc.open_ledger(":memory:", agreement="friendship")
    with pytest.raises(cc.InvalidInput, match="currency"):
        cc.open_ledger(":memory:", currency="DOLLARS")


def test_file_ledger_keeps_its_currency_and_history_across_opens(tmp_path):
    path = tmp_path / "credits.duckdb"
    ledger = cc.open_ledger(path, currency="EUR")
    run(ledger, "2025-01-10 fund 80.00 as A\n2025-01-11 spend 5.00 as c1")
    reopened = cc.open_ledger(path)
    assert reopened.currency == "EUR"
    assert reopened.balance(utc("2025-01-12")) == D("75.00")
    with pytest.raises(cc.InvalidInput, match="keeps EUR"):
        cc.open_ledger(path, currency="USD")


def test_views_are_the_documented_interface():
    ledger = ledger_from("2025-01-10 fund 100.00 as A\n2025-01-11 spend 5.00 as c1")
    columns = {
        "lots": [
            "lot_id",
            "purchased_at",
            "expires_at",
            "amount",
            "source",
            "order_id",
            "invoice_id",
            "remaining",
            "spent",
            "forfeited",
            "expired",
        ],
        "entries": [
            "entry_id",
            "occurred_at",
            "kind",
            "amount",
            "idempotency_key",
            "lot_id",
            "recorded_at",
            "balance_after",
            "invoice_id",
            "order_id",
            "usage_id",
            "call_at",
            "adjusts",
            "reported_late",
        ],
        "allocations": ["entry_id", "occurred_at", "kind", "idempotency_key", "lot_id", "amount"],
        "invoices": ["invoice_id", "issued_at", "amount", "reason", "lot_id", "order_id", "expires_at"],
        "balance_history": ["occurred_at", "entry_id", "kind", "change", "balance"],
    }
    for view, expected in columns.items():
        assert list(ledger.store.query_df(f"SELECT * FROM {view}").columns) == expected, view
    assert ledger.balance_history()["balance"].tolist() == [D("100.00"), D("95.00")]


def test_money_in_dataframes_stays_decimal():
    ledger = ledger_from("2025-01-10 fund 100.10 as A")
    assert isinstance(ledger.lots().iloc[0]["amount"], Decimal)
    assert isinstance(ledger.entries().iloc[0]["balance_after"], Decimal)
