"""Rating only what changed: each sync rates its new calls, redoes estimates only for the months that need it,
and ends where rating everything from scratch would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import commcredits as cc
from commcredits.usage.call_import import import_pstn_calls
from commcredits.usage.rating import load_included_minutes, load_rate_card, rate_calls, rated_calls, set_license_counts

T0 = datetime(2025, 3, 30, 9, tzinfo=UTC)  # calls straddle March and April
COMPARED = [
    "usage_id",
    "start_at",
    "currency",
    "method",
    "destination_country",
    "billable_minutes",
    "included_minutes",
    "charge",
]


# (callType, operator, inventoryType): a call out, a call into a toll-free auto attendant, another carrier's call
KINDS = [("user_out", None, None), ("ucap_in", None, "Toll-free"), ("user_out", "Contoso Telecom", None)]


def call(i, *, hours, minutes, charge=None, to="+12065550100", user="a@contoso.com", kind=KINDS[0]):
    call_type, operator, inventory_type = kind
    return {
        "id": f"r{i:03d}",
        "userId": user,
        "userPrincipalName": user,
        "startDateTime": T0 + timedelta(hours=hours),
        "duration": minutes * 60,
        "charge": charge,
        "currency": "USD",
        "callType": call_type,
        "calleeNumber": to,
        "licenseCapability": "MCOPSTN5",
        "usageCountryCode": "US",
        "operator": operator,
        "inventoryType": inventory_type,
    }


def fresh_ledger():
    ledger = cc.open_ledger()
    load_rate_card(ledger)
    load_included_minutes(ledger)
    set_license_counts(
        ledger, pd.DataFrame({"license_capability": ["MCOPSTN5"], "usage_country": ["US"], "licenses": [1]})
    )  # one licensed user: a 120-minute pool
    return ledger


def ledger_with(*calls):
    ledger = fresh_ledger()
    import_pstn_calls(ledger, list(calls))
    return ledger


def ratings(ledger) -> pd.DataFrame:
    return rated_calls(ledger)[COMPARED].sort_values("usage_id").reset_index(drop=True)


CALLS = st.lists(
    st.tuples(
        st.integers(0, 80),
        st.integers(1, 90),
        st.sampled_from([None, "0.00", "0.37"]),
        st.sampled_from(["+12065550100", "+525555555555", "+442079460000", "+18005550199", "+4420722545**"]),
        st.sampled_from(["a@contoso.com", "b@contoso.com"]),
        st.integers(0, 2),
        st.sampled_from(KINDS),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CALLS)
def test_rating_batch_by_batch_ends_where_rating_everything_at_once_does(spec):
    rows = [
        (call(i, hours=h, minutes=m, charge=c, to=to, user=u, kind=k), batch)
        for i, (h, m, c, to, u, batch, k) in enumerate(spec)
    ]
    once = fresh_ledger()
    import_pstn_calls(once, [r for r, _ in rows])
    rate_calls(once)
    stepwise = fresh_ledger()
    for batch in range(3):  # later batches may hold earlier calls of a month already rated (late logs)
        import_pstn_calls(stepwise, [r for r, b in rows if b == batch])
        rate_calls(stepwise)
    pd.testing.assert_frame_equal(ratings(stepwise), ratings(once))


def test_a_sync_rates_only_its_new_calls_and_the_months_they_change():
    ledger = ledger_with(
        call(1, hours=0, minutes=5, charge="0.10"),
        call(2, hours=1, minutes=100),
        call(3, hours=60, minutes=5, charge="0.20"),  # in April
    )
    first = rate_calls(ledger)
    assert sum(first.by_method.values()) == 3
    assert sum(rate_calls(ledger).by_method.values()) == 0  # nothing new: nothing rated

    import_pstn_calls(ledger, [call(4, hours=61, minutes=2, charge="0.05")])  # has Microsoft's charge
    assert rate_calls(ledger).by_method == {"as_is": 1}

    # a late March call without a charge, made before r002: March's pool is redone (r002 now pays), April is not
    import_pstn_calls(ledger, [call(5, hours=0.5, minutes=100)])
    again = rate_calls(ledger)
    # March's estimates only: r002 and r005; r001 carries Microsoft's charge and is not rated again
    assert again.by_method == {"included": 1, "rate_card": 1}
    out = rated_calls(ledger).set_index("usage_id")
    # the 120-minute pool of calls without a charge: r005's 100 minutes come first, so r002 draws 20, pays for 80
    assert out.loc["r005", "method"] == "included" and out.loc["r002", "billable_minutes"] == 80
    assert out.loc["r002", "charge"] == Decimal("1.60")  # 80 min x SAMPLE US fixed 0.02


def test_a_new_rate_card_redoes_every_estimate_but_not_microsofts_charges(tmp_path):
    ledger = fresh_ledger()
    import_pstn_calls(
        ledger,
        [
            call(1, hours=0, minutes=3, to="+525555555555"),
            call(2, hours=1, minutes=3, charge="0.40", to="+525555555555"),
        ],
    )
    rate_calls(ledger)
    card = tmp_path / "rates.csv"
    card.write_text("destination_country,number_type,currency,price_per_minute,connection_fee\nMX,*,USD,1.00,0.50\n")
    load_rate_card(ledger, card)
    rate_calls(ledger)
    out = rated_calls(ledger).set_index("usage_id")
    assert out.loc["r001", "charge"] == Decimal("3.50") and out.loc["r002", "charge"] == Decimal("0.40")


def test_a_ledger_rated_before_marks_existed_is_rated_afresh_once():
    ledger = fresh_ledger()
    import_pstn_calls(ledger, [call(1, hours=0, minutes=3), call(2, hours=1, minutes=3, charge="0.40")])
    rate_calls(ledger)
    before = ratings(ledger)
    with ledger.store.transaction() as con:
        con.execute("DELETE FROM rating_mark")  # as a ledger rated by an older version is
    assert sum(rate_calls(ledger).by_method.values()) == 2
    pd.testing.assert_frame_equal(ratings(ledger), before)
    assert len(rated_calls(ledger)) == 2  # nothing rated twice


def test_calls_microsoft_charged_are_rated_once_and_never_join_an_estimate():
    ledger = fresh_ledger()
    import_pstn_calls(ledger, [call(i, hours=i, minutes=3, charge="0.30") for i in range(1, 6)])
    assert rate_calls(ledger).by_method == {"as_is": 5}
    import_pstn_calls(ledger, [call(6, hours=2.5, minutes=3)])  # a call without a charge in the same month
    assert rate_calls(ledger).by_method == {"included": 1}  # only it: the five charged calls are not re-rated
    card_changed = fresh_ledger()  # a new rate card redoes estimates, never Microsoft's charges
    import_pstn_calls(card_changed, [call(1, hours=0, minutes=3, charge="0.30"), call(2, hours=1, minutes=3)])
    rate_calls(card_changed)
    load_rate_card(card_changed)
    assert rate_calls(card_changed).by_method == {"included": 1}
    assert len(rated_calls(card_changed)) == 2


def test_estimates_are_kept_only_for_calls_without_a_charge():
    ledger = ledger_with(
        call(1, hours=0, minutes=3, charge="0.30"),
        call(2, hours=1, minutes=3),
        call(3, hours=2, minutes=4, charge="0.00"),
    )
    rate_calls(ledger)
    out = rated_calls(ledger).set_index("usage_id")
    assert out["estimate"].to_dict() == {"r001": False, "r002": True, "r003": False}
    assert out.loc["r001", "charge"] == Decimal("0.30") and out.loc["r003", "charge"] == Decimal("0.00")
    assert out.loc["r001", "destination_country"] == "US"  # spend by destination still knows where it went


def test_a_call_imported_behind_the_rating_mark_is_still_rated_once():
    ledger = fresh_ledger()
    import_pstn_calls(ledger, [call(1, hours=0, minutes=3, charge="0.30")])
    rate_calls(ledger)
    import_pstn_calls(ledger, [call(2, hours=1, minutes=3, charge="0.20"), call(3, hours=2, minutes=3)])
    with ledger.store.transaction() as con:  # as if the clock had been set back when they were imported
        con.execute("UPDATE pstn_call SET imported_at = TIMESTAMPTZ '2000-01-01' WHERE usage_id IN ('r002', 'r003')")
    assert rate_calls(ledger).by_method == {"as_is": 1, "included": 1}
    assert sorted(rated_calls(ledger)["usage_id"]) == ["r001", "r002", "r003"]
    assert rate_calls(ledger).by_method == {}  # and not again


def test_a_charged_call_keeps_no_row_of_its_own_only_its_numbers_country():
    ledger = ledger_with(
        call(1, hours=0, minutes=3, charge="0.125"),
        call(2, hours=1, minutes=3, charge="0.30", to="+525555555555"),
        call(3, hours=2, minutes=3, charge="0.30"),
        call(4, hours=3, minutes=3),
    )
    rate_calls(ledger)
    stored = ledger.store.query("SELECT usage_id, method FROM call_charge")
    assert stored == [("r004", "included")]  # the estimate; Microsoft's charges are read from the calls
    assert sorted(ledger.store.query("SELECT * FROM callee_country")) == [
        ("+12065550100", "US"),
        ("+525555555555", "MX"),
    ]
    out = rated_calls(ledger).set_index("usage_id")
    assert out.loc["r001", "charge"] == Decimal("0.13") and out.loc["r002", "destination_country"] == "MX"
    import_pstn_calls(ledger, [call(5, hours=4, minutes=3, charge="0.40")])
    assert "r005" not in set(rated_calls(ledger)["usage_id"])  # rated once rating reaches it, as before
    rate_calls(ledger)
    assert rated_calls(ledger).set_index("usage_id").loc["r005", "method"] == "as_is"
    assert ledger.store.query("SELECT count(*) FROM callee_country") == [(2,)]  # a known number: not placed again


def test_a_ledger_rated_when_charged_calls_were_stored_shows_them_and_is_rated_afresh_once():
    ledger = ledger_with(
        call(1, hours=0, minutes=3, charge="0.30"),
        call(2, hours=1, minutes=3, kind=KINDS[1]),
        call(3, hours=2, minutes=3, charge="0.20", to="+442079460000"),
    )
    rate_calls(ledger)
    before = ratings(ledger)
    with ledger.store.transaction() as con:  # as a file rated by the version that stored a row per charged call
        con.execute("INSERT INTO call_charge SELECT * FROM call_rating WHERE method IN ('as_is', 'operator')")
        con.execute("UPDATE rating_mark SET calls_rated = NULL")
        con.execute("DELETE FROM callee_country")
    pd.testing.assert_frame_equal(ratings(ledger), before)  # read from the stored rows until rated again
    assert sum(rate_calls(ledger).by_method.values()) == 3
    pd.testing.assert_frame_equal(ratings(ledger), before)
    assert ledger.store.query("SELECT count(*) FROM call_charge") == [(1,)]
