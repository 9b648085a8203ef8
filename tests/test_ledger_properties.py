"""Property tests: the ledger against a small in-memory reference model, invariants checked after every step.

The model is written independently of commcredits.credits.ledger (plain lists, no SQL) so the two can disagree.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest.mock import patch

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import commcredits as cc

START = datetime(2010, 1, 1, tzinfo=UTC)  # 25 steps of up to 120 days must stay before today
cents = st.integers(min_value=1, max_value=20_000).map(lambda c: Decimal(c).scaleb(-2))
steps_forward = st.integers(min_value=0, max_value=120 * 24).map(lambda hours: timedelta(hours=hours))


def twelve_months_later(t: datetime) -> datetime:
    year, month = (t.year + 1, t.month)
    return t.replace(year=year, day=min(t.day, calendar.monthrange(year, month)[1]))


@dataclass
class ModelLot:
    lot_id: int
    expires_at: datetime
    amount: Decimal
    remaining: Decimal
    expired: bool = False


class Model:
    def __init__(self):
        self.lots: list[ModelLot] = []
        self.auto: tuple[Decimal, Decimal] | None = None
        self.spends: dict[str, tuple[Decimal, list]] = {}
        self.orders: dict[str, Decimal] = {}
        self.invoices = 0
        self.forfeited_total = Decimal(0)
        self.mca = False  # Microsoft Customer Agreement: no buying, lots pay first, then arrears
        self.arrears: dict[str, Decimal] = {}

    def expire(self, at) -> Decimal:
        forfeited = Decimal(0)
        for lot in self.lots:
            if not lot.expired and lot.expires_at <= at:
                forfeited += lot.remaining
                lot.remaining, lot.expired = Decimal(0), True
        self.forfeited_total += forfeited
        return forfeited

    def balance(self, at: datetime | None = None) -> Decimal:
        """Balance now, or as of `at` counting expiries due by then (a refused spend leaves them pending)."""
        return sum(
            (lot.remaining for lot in self.lots if not lot.expired and (at is None or lot.expires_at > at)),
            Decimal(0),
        )

    def buy(self, amount, at):
        self.lots.append(ModelLot(len(self.lots) + 1, twelve_months_later(at), amount, amount))
        self.invoices += 1

    def spend(self, amount, at, key):
        """Returns allocations, or None when refused (then the model is unchanged)."""
        if self.mca:
            self.expire(at)
            drawn = min(amount, self.balance())
            allocations = self._draw(drawn)
            if amount > drawn:
                self.arrears[key] = amount - drawn
            return allocations
        snapshot = (
            [(lot.remaining, lot.expired) for lot in self.lots],
            len(self.lots),
            self.invoices,
            self.forfeited_total,
        )
        self.expire(at)
        if self.balance() < amount and self.auto and self.balance() < self.auto[1]:
            self.buy(self.auto[0], at)
        if self.balance() < amount:
            states, count, invoices, forfeited = snapshot
            del self.lots[count:]
            for lot, (remaining, expired) in zip(self.lots, states):
                lot.remaining, lot.expired = remaining, expired
            self.invoices, self.forfeited_total = invoices, forfeited
            return None
        allocations = self._draw(amount)
        if self.auto and self.balance() < self.auto[1]:
            self.buy(self.auto[0], at)
        return allocations

    def _draw(self, amount):
        left, allocations = amount, []
        for lot in self.lots:
            if lot.expired or lot.remaining == 0 or left == 0:
                continue
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            allocations.append((lot.lot_id, take))
        return allocations


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.ledger = cc.open_ledger(":memory:", currency="USD")
        self.model = Model()
        self.now = START
        self.history: list[tuple[datetime, Decimal]] = []  # (instant, balance after the op)
        self.counter = 0

    def _key(self, prefix):
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def _record(self):
        self.history.append((self.now, self.model.balance()))

    @rule(amount=cents, step=steps_forward)
    def fund(self, amount, step):
        self.now += step
        key = self._key("order")
        if self.model.mca:
            with pytest.raises(cc.NotAllowedForAgreement):
                self.ledger.add_funds(amount, at=self.now, order_id=key)
            return
        lot = self.ledger.add_funds(amount, at=self.now, order_id=key)
        self.model.expire(self.now)
        self.model.buy(amount, self.now)
        self.model.orders[key] = amount
        assert lot.lot_id == len(self.model.lots)
        self._record()

    @rule(amount=cents, step=steps_forward)
    def spend(self, amount, step):
        self.now += step
        key = self._key("usage")
        expected = self.model.spend(amount, self.now, key)
        if expected is None:
            try:
                self.ledger.spend(amount, at=self.now, usage_id=key)
            except cc.InsufficientCredits:
                return
            raise AssertionError("ledger allowed a spend the model refused")
        assert self.ledger.spend(amount, at=self.now, usage_id=key) == expected
        self.model.spends[key] = (amount, expected)
        self._record()

    @rule(step=steps_forward)
    def expire(self, step):
        self.now += step
        assert self.ledger.expire(self.now) == self.model.expire(self.now)
        self._record()

    def _saved_now(self):
        """Settings saved now take effect at the machine's clock (a spend is judged with the agreement and the
        auto-recharge setting in force at its time, and this machine's times are not the wall clock)."""
        machine_now = self.now

        class Clock(datetime):
            @classmethod
            def now(cls, tz=None):
                return machine_now

        return patch("commcredits.versioned.datetime", Clock)

    @rule(amount=cents, below=cents)
    def turn_on_auto_recharge(self, amount, below):
        if self.model.mca:
            with pytest.raises(cc.NotAllowedForAgreement):
                self.ledger.set_auto_recharge(amount=amount, below=below)
            return
        with self._saved_now():
            self.ledger.set_auto_recharge(amount=amount, below=below)
        self.model.auto = (amount, below)

    @rule(mca=st.booleans())
    def switch_agreement(self, mca):
        if mca and self.model.auto:
            with pytest.raises(cc.NotAllowedForAgreement):
                self.ledger.set_agreement("MCA")
            return
        with self._saved_now():
            self.ledger.set_agreement("MCA" if mca else "MOSA")
        self.model.mca = mca

    @rule()
    def turn_off_auto_recharge(self):
        with self._saved_now():
            self.ledger.disable_auto_recharge()
        self.model.auto = None

    @precondition(lambda self: self.model.spends)
    @rule(data=st.data())
    def replay_a_spend(self, data):
        key = data.draw(st.sampled_from(sorted(self.model.spends)))
        amount, allocations = self.model.spends[key]
        before = len(self.ledger.entries())
        assert self.ledger.spend(amount, at=self.now, usage_id=key) == allocations
        assert len(self.ledger.entries()) == before

    @precondition(lambda self: self.model.orders)
    @rule(data=st.data())
    def replay_an_order(self, data):
        key = data.draw(st.sampled_from(sorted(self.model.orders)))
        before = len(self.ledger.entries())
        self.ledger.add_funds(self.model.orders[key], at=self.now, order_id=key)
        assert len(self.ledger.entries()) == before

    @precondition(lambda self: self.history)
    @rule(data=st.data())
    def balance_as_of_a_past_instant_matches_replay(self, data):
        index = data.draw(st.integers(0, len(self.history) - 1))
        instant, _ = self.history[index]
        # the last op recorded at that instant is what an as-of query sees
        expected = [balance for t, balance in self.history if t == instant][-1]
        assert self.ledger.balance(instant) == expected

    @invariant()
    def balance_is_sum_of_entries_and_of_lot_remainders_and_matches_model(self):
        lots = self.ledger.lots()
        entries_total = self.ledger.entries()["amount"].sum() if self.history else Decimal(0)
        remaining = lots["remaining"].sum() if len(lots) else Decimal(0)
        assert entries_total == remaining
        assert self.ledger.balance(self.now) == self.model.balance(self.now) >= 0
        assert Decimal(entries_total) == self.model.balance()

    @invariant()
    def lots_stay_within_bounds_and_expire_exactly_once(self):
        lots = self.ledger.lots()
        for row, model_lot in zip(lots.itertuples(), self.model.lots):
            assert 0 <= row.remaining <= row.amount
            assert row.remaining == model_lot.remaining
            assert row.expired == model_lot.expired
        expiries = self.ledger.store.query(
            "SELECT lot_id, count(*) FROM entry WHERE kind = 'expiry' GROUP BY lot_id HAVING count(*) > 1"
        )
        assert expiries == []
        assert len(lots) == len(self.model.lots)
        assert len(self.ledger.invoices()) == self.model.invoices

    @invariant()
    def usage_billed_in_arrears_matches_model(self):
        rows = self.ledger.store.query("SELECT usage_id, amount FROM usage_billed_in_arrears")
        assert dict(rows) == self.model.arrears

    @invariant()
    def forfeits_match(self):
        forfeited = self.ledger.store.query("SELECT COALESCE(-SUM(amount), 0) FROM entry WHERE kind = 'expiry'")
        assert forfeited[0][0] == self.model.forfeited_total


# Example counts come from the hypothesis profile (tests/conftest.py): HYPOTHESIS_PROFILE=deep for more.
LedgerMachine.TestCase.settings = settings(stateful_step_count=25)
TestLedgerAgainstModel = LedgerMachine.TestCase
