"""Settle what Microsoft charged: real-shaped Graph pstnCallLogRow rows, one rule per test."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
from babel.numbers import get_currency_precision, list_currencies
from hypothesis import example, given, settings
from hypothesis import strategies as st

import commcredits as cc
from commcredits.credits.settlement import settle
from commcredits.usage import insights
from commcredits.usage.charges import ATTENTION, calls_needing_attention

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def graph_row(
    n: int,
    *,
    charge="0.00",
    currency="USD",
    operator="Microsoft",
    capability="MCOPSTNPP",
    call_type="user_out",
    minutes=3,
    inventory="Subscriber",
    user="adele.vance@contoso.com",
) -> dict:
    """One row as getPstnCalls returns it (field names and shapes of the pstnCallLogRow resource)."""
    start = T0 + timedelta(minutes=10 * n)
    row = {
        "id": str(uuid.UUID(int=n, version=4)),
        "callId": f"1835317186_{n}@61.221.3.176",
        "userId": None if call_type.startswith("ucap") else "db03c14b-06eb-4189-939b-7cbf3a20ba27",
        "userPrincipalName": None if call_type.startswith("ucap") else user,
        "userDisplayName": None if call_type.startswith("ucap") else "Adele Vance",
        "startDateTime": start.isoformat().replace("+00:00", "Z"),
        "endDateTime": (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "duration": minutes * 60,
        "charge": charge,  # Graph sends a JSON number; text keeps the test exact
        "callType": call_type,
        "currency": currency,
        "calleeNumber": "+441632960123",
        "usageCountryCode": "US",
        "tenantCountryCode": "US",
        "connectionCharge": 0.0,
        "callerNumber": "+14255550100",
        "destinationContext": "International",
        "destinationName": "United Kingdom",
        "conferenceId": None,
        "licenseCapability": capability,
        "inventoryType": inventory,
        "operator": operator,
        "callDurationSource": "microsoft" if operator in (None, "Microsoft") else "operator",
    }
    if operator is None:
        del row["operator"]
    return row


def funded(currency="USD", amount="100.00") -> cc.Ledger:
    ledger = cc.open_ledger(":memory:", currency=currency)
    ledger.add_funds(amount, at=T0 - timedelta(days=1), order_id="PO-1")
    return ledger


def spends(ledger) -> dict:
    rows = ledger.store.query("SELECT usage_id, -amount FROM entry WHERE kind = 'spend'")
    return dict(rows)


def test_a_charged_row_draws_exactly_its_charge_whatever_the_license():
    ledger = funded()
    rows = [
        graph_row(1, charge="1.20", capability="MCOMEETACPEA", call_type="conf_in"),  # pay-per-minute dial-in
        graph_row(2, charge="0.42", capability="MCOPSTN1"),
        graph_row(3, charge="0.35", capability="MCOPSTNPP", operator=None),
    ]  # operator not given: Microsoft
    cc.import_pstn_calls(ledger, rows)
    report = settle(ledger)
    assert report.settled == 3 and report.amount == Decimal("1.97")
    assert spends(ledger) == {
        rows[0]["id"]: Decimal("1.20"),
        rows[1]["id"]: Decimal("0.42"),
        rows[2]["id"]: Decimal("0.35"),
    }


def test_a_row_microsoft_charged_nothing_draws_nothing_even_past_the_estimated_pool():
    ledger = funded()
    cc.load_rate_card(ledger)
    cc.load_included_minutes(ledger)
    # 3000 domestic minutes are in the sample pool; these calls are far beyond it, but Microsoft charged 0.00
    rows = [graph_row(n, charge="0.00", capability="MCOPSTN1", minutes=600) for n in range(1, 8)]
    cc.import_pstn_calls(ledger, rows)
    cc.rate_calls(ledger)
    assert settle(ledger).settled == 0
    assert ledger.balance(T0 + timedelta(days=2)) == Decimal("100.00")


def test_operator_connect_calls_never_draw_credits():
    ledger = funded()
    rows = [graph_row(1, charge="2.50", operator="Fabrikam Telecom"), graph_row(2, charge="0.10")]
    cc.import_pstn_calls(ledger, rows)
    report = settle(ledger)
    assert report.settled == 1 and spends(ledger) == {rows[1]["id"]: Decimal("0.10")}


def test_charges_round_half_up_to_the_minor_unit_and_keep_the_reported_value():
    ledger = funded()
    rows = [graph_row(1, charge="0.125"), graph_row(2, charge="0.1349"), graph_row(3, charge="0.004")]
    cc.import_pstn_calls(ledger, rows)
    report = settle(ledger)
    assert spends(ledger) == {rows[0]["id"]: Decimal("0.13"), rows[1]["id"]: Decimal("0.13")}
    assert report.settled == 2  # 0.004 rounds to 0.00: nothing to draw
    reported = dict(ledger.store.query("SELECT usage_id, reported_charge FROM microsoft_charge"))
    assert reported[rows[0]["id"]] == Decimal("0.125")


def test_a_yen_ledger_rounds_to_whole_yen():
    ledger = funded("JPY", "10000")
    rows = [graph_row(1, charge="12.5", currency="JPY"), graph_row(2, charge="12.4", currency="JPY")]
    cc.import_pstn_calls(ledger, rows)
    settle(ledger)
    assert spends(ledger) == {rows[0]["id"]: Decimal("13"), rows[1]["id"]: Decimal("12")}


def test_rows_without_a_charge_and_rows_in_another_currency_are_not_settled():
    ledger = funded()
    cc.load_rate_card(ledger)
    cc.load_included_minutes(ledger)
    rows = [graph_row(1, charge=None, capability="MCOPSTNPP"), graph_row(2, charge="0.42", currency="EUR")]
    cc.import_pstn_calls(ledger, rows)
    cc.rate_calls(ledger)  # the first row gets an estimate from the rate card, which is never settled
    assert settle(ledger).settled == 0 and spends(ledger) == {}


def test_currency_digits_in_sql_match_babel_for_every_currency():
    ledger = cc.open_ledger()
    codes = sorted(list_currencies())
    got = dict(ledger.store.query("SELECT c, currency_digits(c) FROM unnest($1::VARCHAR[]) t(c)", [codes]))
    assert got == {c: get_currency_precision(c) for c in codes}


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000_000), st.sampled_from(["Microsoft", None, "Fabrikam Telecom"])),
        min_size=1,
        max_size=12,
    )
)
def test_settled_total_is_the_sum_of_microsofts_rounded_charges(charges):
    """Whatever Microsoft reports (6 decimals), the ledger draws each Microsoft row rounded half-up, no more."""
    ledger = funded(amount="999999.00")
    rows = [graph_row(n, charge=str(Decimal(micro).scaleb(-6)), operator=op) for n, (micro, op) in enumerate(charges)]
    cc.import_pstn_calls(ledger, rows)
    report = settle(ledger)
    expected = sum(
        (
            Decimal(micro).scaleb(-6).quantize(Decimal("0.01"), "ROUND_HALF_UP")
            for micro, op in charges
            if op != "Fabrikam Telecom"
        ),
        Decimal(0),
    )
    assert report.amount == expected
    assert ledger.balance(T0 + timedelta(days=1)) == Decimal("999999.00") - expected


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["0.00", "0.004", "0.40", "2.50", "7.00", None]),
            st.sampled_from(["Microsoft", "Fabrikam Telecom"]),
            st.sampled_from(["USD", "EUR"]),
        ),
        min_size=1,
        max_size=10,
    ),
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 12)), st.sampled_from([None, "1.00", "5.00"])),
        min_size=1,
        max_size=3,
    ),
)
@example(calls=[("7.00", "Microsoft", "USD")], rounds=[(None, None), (None, "5.00")])  # blocked, then paid
def test_the_settlement_report_counts_each_imported_call_as_call_charges_does(calls, rounds):
    """by_status after each settlement (up to a time or all, funds added between) = the view's own count, and
    the calls needing attention (a quicker query) are the view's calls in those statuses, word for word."""
    ledger = funded(amount="3.00")
    cc.load_rate_card(ledger)
    rows = [
        graph_row(n, charge=charge, operator=op, currency=currency) for n, (charge, op, currency) in enumerate(calls)
    ]
    cc.import_pstn_calls(ledger, rows)
    cc.rate_calls(ledger)
    for order, (until, add) in enumerate(rounds):
        if add:
            ledger.add_funds(add, at=T0 + timedelta(minutes=10 * len(calls) + order), order_id=f"PO-more-{order}")
        report = settle(ledger, until=None if until is None else T0 + timedelta(minutes=10 * until))
        table = cc.call_charges(ledger)
        view = table["status"].value_counts().to_dict()
        assert report.by_status == {status: view.get(status, 0) for status in report.by_status}
        assert sum(report.by_status.values()) == len(calls)
        columns = ["usage_id", "status", "attention_amount", "reason"]
        expected = table[table["status"].isin(ATTENTION)][columns].astype(str).values.tolist()
        assert sorted(calls_needing_attention(ledger)[columns].astype(str).values.tolist()) == sorted(expected)


def test_call_charges_gives_every_call_a_status_reason_and_amount():
    ledger = funded(amount="1.00")
    cc.load_rate_card(ledger)
    cc.load_included_minutes(ledger)
    rows = [
        graph_row(1, charge="0.40"),  # settled
        graph_row(2, charge="0.00", capability="MCOPSTN1"),  # free
        graph_row(3, charge="3.10", operator="Fabrikam Telecom"),  # operator
        graph_row(4, charge="0.42", currency="EUR"),  # other_currency
        graph_row(5, charge="5.00"),  # blocked: 0.60 left
        graph_row(6, charge=None, capability="MCOPSTNPP"),  # estimate (rate card)
        graph_row(7, charge="0.10"),  # pending: after `until`
    ]
    cc.import_pstn_calls(ledger, rows)
    cc.rate_calls(ledger)
    report = settle(ledger, until=T0 + timedelta(minutes=65))
    table = cc.call_charges(ledger).set_index("usage_id")
    status = {n: table.loc[rows[n - 1]["id"], "status"] for n in range(1, 8)}
    assert status == {
        1: "settled",
        2: "free",
        3: "operator",
        4: "other_currency",
        5: "blocked",
        6: "estimate",
        7: "pending",
    }
    assert report.by_status == {
        "settled": 1,
        "free": 1,
        "operator": 1,
        "other_currency": 1,
        "blocked": 1,
        "estimate": 1,
        "pending": 1,
    }
    assert list(table.columns[:8]) == [
        "start_at",
        "user_principal_name",
        "operator",
        "reported_charge",
        "currency",
        "credits_drawn",
        "status",
        "reason",
    ]
    first = table.loc[rows[0]["id"]]
    assert first["credits_drawn"] == Decimal("0.40") and first["user_principal_name"] == "adele.vance@contoso.com"
    assert table.loc[rows[2]["id"], "reason"] == "Billed by Fabrikam Telecom, not from Communication Credits."
    assert "0.42 EUR" in table.loc[rows[3]["id"], "reason"]
    assert table.loc[rows[4]["id"], "attention_amount"] == Decimal("5.00")
    assert "estimate" in table.loc[rows[5]["id"], "reason"] and table.loc[rows[5]["id"], "credits_drawn"] == 0
    attention = calls_needing_attention(ledger)
    assert sorted(attention["status"]) == ["blocked", "estimate", "other_currency"]


@settings(max_examples=25, deadline=None)
@given(
    charges=st.lists(st.sampled_from(["0.00", "1.00", "2.50", "4.00"]), min_size=2, max_size=8),
    order=st.randoms(use_true_random=False),
    batches=st.integers(2, 4),
    top_up=st.sampled_from([None, "3.00"]),
)
def test_late_logs_settled_in_any_arrival_order_are_counted_as_call_charges_counts_them(
    charges, order, batches, top_up
):
    """Issue 24: logs arrive out of order (a batch older than what the ledger recorded is settled at its own time);
    the settlement report's counts per status still equal the view's, including calls a late one left blocked."""
    ledger = funded(amount="5.00")
    rows = [graph_row(n, charge=charge) for n, charge in enumerate(charges)]
    order.shuffle(rows)
    for b in range(batches):
        cc.import_pstn_calls(ledger, rows[b::batches])
        if top_up and b == 1:
            ledger.add_funds(top_up, at=T0 + timedelta(minutes=10 * len(rows)), order_id="PO-top-up")
        report = settle(ledger)
        view = cc.call_charges(ledger)["status"].value_counts().to_dict()
        assert report.by_status == {status: view.get(status, 0) for status in report.by_status}


def test_settlement_reads_only_new_calls_yet_loses_none_after_a_partial_settlement_or_a_block():
    """settle_mark lets a settlement skip the calls a full one already considered; a settlement up to a time
    moves the mark only to just before the first call it left was imported, and blocked calls are tried again,
    so every call is paid once funds allow."""
    ledger = funded(amount="5.00")
    cc.import_pstn_calls(ledger, [graph_row(n, charge="1.00") for n in range(3)])
    (imported,) = ledger.store.query("SELECT min(imported_at) FROM pstn_call")[0]
    settle(ledger, until=T0 + timedelta(minutes=5))  # only the first call
    assert ledger.store.query("SELECT settled_through FROM settle_mark") == [(imported - timedelta(microseconds=1),)]
    assert settle(ledger).settled == 2  # the two calls after `until` were not lost
    settle(ledger)
    (mark,) = ledger.store.query("SELECT settled_through FROM settle_mark")[0]
    cc.import_pstn_calls(ledger, [graph_row(n, charge="2.00") for n in range(3, 5)])  # one is blocked
    report = settle(ledger)
    assert report.blocked == 1 and ledger.store.query("SELECT settled_through FROM settle_mark")[0][0] > mark
    ledger.add_funds("5.00", at=T0 + timedelta(hours=2), order_id="PO-more")
    cc.import_pstn_calls(ledger, [graph_row(18, charge="2.00")])  # after the purchase: paid
    report = settle(ledger)  # the blocked call is tried again at its own time: still nothing to pay it then
    assert (report.settled, report.blocked) == (1, 1)
    assert report.by_status["settled"] == 5 and report.by_status["blocked"] == 1
    assert sorted(spends(ledger).values()) == [Decimal("1.00")] * 3 + [Decimal("2.00")] * 2


def test_a_call_recorded_before_its_log_arrived_is_never_drawn_twice(tmp_path):
    """Settlement looks for the calls already in the ledger from the earliest call it settles on; a call recorded by
    hand (or from a table) at an earlier time than its log later says is still found, in new files and old ones."""
    ledger = cc.open_ledger(tmp_path / "ledger.duckdb")
    ledger.add_funds("100.00", at=T0 - timedelta(days=1), order_id="PO-1")
    by_hand, from_table = graph_row(7, charge="1.00"), graph_row(8, charge="2.00")
    ledger.spend("1.00", at=T0 - timedelta(hours=2), usage_id=by_hand["id"])  # before the call's start in its log
    given = [(from_table["id"], T0 - timedelta(hours=1), "2.00")]
    settle(ledger, calls=pd.DataFrame(given, columns=["usage_id", "start_at", "charge"]))
    with ledger.store.transaction() as con:  # a file written before the list existed: it is filled on opening
        con.execute("DROP TABLE spend_outside_log")
        con.execute("COMMENT ON VIEW entries IS NULL")  # which older versions did not keep either
    ledger = cc.open_ledger(tmp_path / "ledger.duckdb")
    assert sorted(r[0] for r in ledger.store.query("SELECT usage_id FROM spend_outside_log")) == sorted(
        [by_hand["id"], from_table["id"]]
    )
    cc.import_pstn_calls(ledger, [by_hand, from_table, graph_row(9, charge="0.50")])
    report = settle(ledger)
    assert (report.settled, report.conflicts) == (1, 0)
    assert sorted(spends(ledger).values()) == [Decimal("0.50"), Decimal("1.00"), Decimal("2.00")]


def test_status_counts_of_calls_imported_days_ago_come_from_the_tally_and_stay_right():
    """A settlement's counts by status add the calls imported since the tally (call_status_tally) to it; the calls
    imported days ago are counted once, whatever their status."""
    ledger = funded(amount="5.00")
    kinds = [
        dict(charge="1.00"),
        dict(charge="0.00"),
        dict(charge="0.30", operator="Contoso Telecom"),
        dict(charge=None),
    ]
    cc.import_pstn_calls(ledger, [graph_row(n, **kinds[n % 4]) for n in range(8)])
    settle(ledger)
    with ledger.store.transaction() as con:  # as if all that was imported two days before it was settled
        con.execute("UPDATE pstn_call SET imported_at = imported_at - INTERVAL 2 DAY")
    settle(ledger)
    (through,) = ledger.store.query("SELECT max(through) FROM call_status_tally")[0]
    assert through is not None and ledger.store.query("SELECT sum(calls) FROM call_status_tally")[0][0] == 8
    cc.import_pstn_calls(ledger, [graph_row(n, **kinds[n % 4]) for n in range(8, 20)])
    report = settle(ledger)
    view = cc.call_charges(ledger)["status"].value_counts().to_dict()
    assert report.by_status == {status: view.get(status, 0) for status in report.by_status}
    assert [report.by_status[s] for s in ("settled", "free", "operator", "estimate")] == [5, 5, 5, 5]


def test_mca_split_call_says_what_came_from_credits_and_what_is_billed_in_arrears():
    ledger = funded(amount="1.00")
    ledger.set_agreement("MCA")
    rows = [graph_row(1, charge="2.50")]
    cc.import_pstn_calls(ledger, rows)
    report = settle(ledger)
    assert report.amount == Decimal("1.00") and report.arrears_amount == Decimal("1.50")
    row = cc.call_charges(ledger).iloc[0]
    assert row["status"] == "settled" and row["credits_drawn"] == Decimal("1.00")
    assert "1.50 billed in arrears" in row["reason"]
    from commcredits.ui.usage_words import settlement_lines

    lines = {label: (value, note) for label, value, note in settlement_lines(report, "USD", "en_US")}
    assert lines["Billed in arrears"][0] == "1 call" and lines["Billed in arrears"][1].startswith("$1.50")
    assert lines["Settled"][1] == "$1.00 paid from credits"


def test_an_mca_late_log_moves_the_later_call_to_arrears_and_its_row_says_so():
    """Call 2 was settled from the last 2.00; call 1's log (made before it) arrives late and takes that 2.00 first:
    call 2 is now billed in arrears in full, and its row and the settlement report say so."""
    ledger = funded(amount="2.00")
    ledger.set_agreement("MCA")
    cc.import_pstn_calls(ledger, [graph_row(2, charge="2.00")])
    settle(ledger)
    cc.import_pstn_calls(ledger, [graph_row(1, charge="2.00")])
    report = settle(ledger)
    assert report.late == 1 and report.arrears_amount == Decimal("2.00")
    rows = cc.call_charges(ledger).set_index("usage_id")
    first, second = rows.iloc[0], rows.iloc[1]
    assert (first["credits_drawn"], second["credits_drawn"], second["billed_in_arrears"]) == (
        Decimal("2.00"),
        Decimal("0.00"),
        Decimal("2.00"),
    )
    assert second["reason"].endswith("billed in arrears (MCA): no credits left.")
    from commcredits.ui.usage_words import settlement_lines

    lines = {label: (value, note) for label, value, note in settlement_lines(report, "USD", "en_US")}
    assert lines["Billed in arrears"][0] == "1 call" and lines["Billed in arrears"][1].startswith("$2.00")
    assert "late calls moved" in lines["Billed in arrears"][1]


def test_an_mca_call_billed_wholly_in_arrears_says_when_its_log_came_late():
    """The lots are empty by the time of the late call: it draws nothing and writes no entry, yet its row still
    says it was reported late (from its usage_in_arrears row), like a late call drawn from credits."""
    ledger = funded(amount="1.00")
    ledger.set_agreement("MCA")
    cc.import_pstn_calls(ledger, [graph_row(1, charge="1.00"), graph_row(3, charge="0.50")])
    settle(ledger)  # call 1 takes the 1.00; call 3 is billed in arrears
    cc.import_pstn_calls(ledger, [graph_row(2, charge="0.40")])
    report = settle(ledger)
    assert report.late == 1 and report.billed_in_arrears == 1
    rows = cc.call_charges(ledger).set_index("usage_id").sort_values("start_at")
    assert rows["billed_in_arrears"].tolist()[1:] == [Decimal("0.40"), Decimal("0.50")]
    late, on_time = rows.iloc[1], rows.iloc[2]
    assert late["days_late"] >= 0 and pd.isna(on_time["days_late"])


def test_usage_and_overview_show_every_call_needing_attention_with_its_amount():
    from commcredits.ui.overview import overview_html
    from commcredits.ui.usage import UsagePage

    ledger = funded(amount="1.00")
    cc.load_rate_card(ledger)
    cc.load_included_minutes(ledger)
    rows = [
        graph_row(1, charge="0.42", currency="EUR"),
        graph_row(2, charge="5.00"),
        graph_row(3, charge=None, capability="MCOPSTNPP"),
        graph_row(4, charge="0.30"),
    ]
    cc.import_pstn_calls(ledger, rows)
    page = UsagePage(ledger, locale="en_US")
    page.settle_button.click()
    result, attention = page.settle_result.value, page.attention.heading.value + page.attention.calls.table.value
    assert "Other currency" in result and "Estimate only" in result
    assert "1 call charged in EUR, not in the ledger&#x27;s USD: €0.42" in attention
    assert "1 call the balance could not pay: $5.00" in attention
    assert "about $0.12 (an estimate" in attention and "$0.12 (estimate)" in attention  # 3 min to GB at 0.04
    summary, _ = overview_html(ledger, now=T0 + timedelta(days=1), locale="en_US")
    assert "Calls that need your attention" in summary and "€0.42" in summary and "$5.00" in summary


def test_a_call_drawn_earlier_with_another_amount_says_so():
    ledger = funded()
    ledger.spend("0.50", at=T0, usage_id=str(uuid.UUID(int=1, version=4)))  # e.g. an earlier estimate paid by hand
    cc.import_pstn_calls(ledger, [graph_row(1, charge="0.40")])
    assert settle(ledger).conflicts == 1
    row = cc.call_charges(ledger).iloc[0]
    assert row["status"] == "settled" and "the ledger drew 0.50 under this id earlier" in row["reason"]


def test_recent_entries_trace_a_late_calls_charge_to_who_called_where():
    """A call whose log came after later calls were settled is taken at its own time (issue 24): the Overview's
    recent entries name its caller and destination, its call time and how many days late it was reported."""
    ledger = funded(amount="50.00")
    cc.load_rate_card(ledger)
    cc.import_pstn_calls(ledger, [graph_row(n, charge="0.40", user="adele.vance@contoso.com") for n in (5, 6)])
    cc.rate_calls(ledger)
    settle(ledger)
    late = graph_row(1, charge="0.90", user="adele.vance@contoso.com")
    late["userDisplayName"] = "Late Caller"
    cc.import_pstn_calls(ledger, [late])
    cc.rate_calls(ledger)
    assert settle(ledger).late == 1
    recent = insights.recent_entries(ledger, 2)
    (late_at,) = ledger.store.query("SELECT call_at FROM entry WHERE usage_id = $1", [late["id"]])[0]
    days = (datetime.now(UTC) - late_at).days
    assert recent["detail"].tolist() == [
        f"Late Caller · call of {late_at:%d %b %Y}, reported {days} days late · call out · to GB",
        "Adele Vance · call out · to GB",
    ]
    assert recent["amount"].tolist() == [Decimal("-0.90"), Decimal("-0.40")]


def test_a_late_calls_charge_says_how_many_days_late_it_was_reported():
    """A call whose log came after later calls were settled is paid at its own time (issue 24); call_charges says
    how many days late it was reported, as the Overview's recent entries do; calls on time say nothing of it."""
    ledger = funded(amount="50.00")
    on_time = [graph_row(n, charge="0.40") for n in (5, 6)]
    cc.import_pstn_calls(ledger, on_time)
    settle(ledger)
    late = graph_row(1, charge="0.90")
    cc.import_pstn_calls(ledger, [late])
    assert settle(ledger).late == 1
    rows = cc.call_charges(ledger).set_index("usage_id")
    (call_at,) = ledger.store.query("SELECT call_at FROM entry WHERE usage_id = $1", [late["id"]])[0]
    days = (datetime.now(UTC) - call_at).days
    assert rows.loc[late["id"], "days_late"] == days
    assert (
        rows.loc[late["id"], "reason"] == f"Microsoft charged 0.90 USD; drawn from credits. Reported {days} days late."
    )
    for row in on_time:
        assert pd.isna(rows.loc[row["id"], "days_late"]) and "late" not in rows.loc[row["id"], "reason"]
