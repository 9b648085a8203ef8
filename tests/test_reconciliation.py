"""Compare with the admin center: expected, shown, difference and plain explanations with amounts; kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_call_charges import T0, funded, graph_row

import commcredits as cc
from commcredits.credits.settlement import settle


def kinds(result) -> dict:
    return {e.kind: e for e in result.explanations}


def test_a_matching_balance_says_so_and_is_kept():
    ledger = funded(amount="50.00")
    cc.import_pstn_calls(ledger, [graph_row(1, charge="1.25")])
    settle(ledger)
    result = cc.reconcile(ledger, "48.75", at=T0 + timedelta(minutes=11))
    assert (result.expected, result.shown, result.difference) == (Decimal("48.75"), Decimal("48.75"), Decimal("0.00"))
    assert [e.text for e in result.explanations] == ["The ledger matches the admin center."]
    kept = cc.reconciliations(ledger)
    assert kept.iloc[0]["shown"] == Decimal("48.75") and kept.iloc[0]["difference"] == 0


def test_calls_after_the_last_import_are_estimated_at_the_recent_burn():
    ledger = funded(amount="100.00")
    # 30.00 spent in the 30 days up to the last imported call: 1.00 a day
    cc.import_pstn_calls(ledger, [graph_row(1, charge="30.00")])
    settle(ledger)
    last = T0 + timedelta(minutes=10)
    result = cc.reconcile(ledger, "64.00", at=last + timedelta(days=6))
    after = kinds(result)["after_last_call"]
    assert after.amount == Decimal("6.00") and "$6.00 at the recent burn of $1.00 a day" in after.text
    assert result.difference == Decimal("-6.00") and result.unexplained == 0


def test_unsettled_calls_are_explained_by_status_with_their_amounts():
    ledger = funded(amount="1.00")
    cc.load_rate_card(ledger)
    cc.load_included_minutes(ledger)
    rows = [
        graph_row(1, charge="5.00"),
        graph_row(2, charge="0.42", currency="EUR"),
        graph_row(3, charge=None, capability="MCOPSTNPP"),
        graph_row(4, charge="0.20"),
    ]
    cc.import_pstn_calls(ledger, rows)
    cc.rate_calls(ledger)
    settle(ledger, until=T0 + timedelta(minutes=35))  # row 4 stays pending
    result = cc.reconcile(ledger, "0.00", at=T0 + timedelta(minutes=41))
    found = kinds(result)
    assert (
        found["blocked"].amount == Decimal("5.00")
        and "purchase or recharge is probably missing" in found["blocked"].text
    )
    assert found["pending"].amount == Decimal("0.20") and "settle them" in found["pending"].text
    assert found["estimate"].amount == Decimal("0.12") and "estimate" in found["estimate"].text
    assert found["other_currency"].amount is None and "€0.42" in found["other_currency"].text


def test_a_recharge_microsoft_shows_but_the_ledger_lacks_is_named():
    ledger = funded(amount="20.00")
    ledger.set_auto_recharge(amount="25.00", below="5.00")
    result = cc.reconcile(ledger, "45.00", at=T0)
    assert result.unexplained == Decimal("25.00")
    text = kinds(result)["not_recorded"].text
    assert "purchase or auto-recharge Microsoft shows that is not recorded here" in text and "about 1 recharge" in text


def test_a_purchase_recorded_here_but_not_in_microsofts_balance_is_named_as_a_cause():
    ledger = funded(amount="20.00")
    ledger.add_funds("30.00", at=T0, order_id="MS-TYPO")  # recorded in Step 2, never bought in Microsoft 365
    result = cc.reconcile(ledger, "20.00", at=T0 + timedelta(minutes=1))
    assert result.unexplained == Decimal("-30.00")
    assert "purchases recorded here but not in Microsoft's balance" in kinds(result)["not_explained"].text


@pytest.mark.parametrize("bad", ["-1.00", "abc", "1.234"])
def test_a_bad_shown_balance_names_the_field_and_keeps_nothing(bad):
    ledger = funded()
    with pytest.raises(cc.InvalidAmount) as error:
        cc.reconcile(ledger, bad, at=T0)
    assert error.value.field == "shown_balance"
    assert cc.reconciliations(ledger).empty


def test_a_naive_time_is_refused():
    with pytest.raises(cc.InvalidTime):
        cc.reconcile(funded(), "1.00", at=datetime(2025, 3, 3))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000_00), st.lists(st.integers(1, 500), max_size=5))
def test_difference_is_shown_minus_expected_and_explanations_account_for_the_rest(shown_cents, charges):
    ledger = funded(amount="100.00")
    cc.import_pstn_calls(ledger, [graph_row(n, charge=str(Decimal(c) / 100)) for n, c in enumerate(charges)])
    settle(ledger)
    at = T0 + timedelta(minutes=10 * len(charges))  # right after the last call: no gap estimate
    result = cc.reconcile(ledger, Decimal(shown_cents) / 100, at=at)
    assert result.difference == result.shown - result.expected
    assert result.expected == ledger.balance(at)
    accounted = sum((e.amount for e in result.explanations if e.amount is not None), Decimal(0))
    assert result.unexplained == result.difference + accounted


def test_the_overview_form_compares_and_shows_errors_in_the_form():
    from commcredits.ui.reconcile import ReconcileForm

    ledger = funded(amount="50.00")
    form = ReconcileForm(ledger, locale="de_DE", now=lambda: T0)
    form.shown.value = "zwölf"
    form.button.click()
    assert "cc-error" in form.result.value and "Balance shown" in form.result.value
    form.shown.value = "40,00"
    form.button.click()
    assert "10,00" in form.result.value and "cc-rec-explanations" in form.result.value
    assert form.last.difference == Decimal("-10.00")
    assert len(cc.reconciliations(ledger)) == 1 and "cc-rec-history" not in form.result.value
    form.shown.value = "50,00"
    form.button.click()
    assert form.last.matches and "cc-rec-history" in form.result.value  # both comparisons are listed
