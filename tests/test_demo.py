"""The demo tenant: the same day and seed always give the same data, and its seats add up."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from commcredits.credits.ledger import open_ledger
from commcredits.demo import SPARE_SEATS, demo_tenant, fill_ledger
from commcredits.demo_calls import demo_calls

# columns that hold when the demo was built (now()), not what it holds
WALL_CLOCK = {"changed_at", "recorded_at", "imported_at", "rated_through", "created_at", "settled_through", "through"}
DAY = datetime(2026, 6, 15, tzinfo=UTC)


def _contents(ledger) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the wall-clock columns."""
    tables = ledger.store.query(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
    )
    contents = {}
    for (table,) in tables:
        columns = [
            f'"{c}"'
            for (c,) in ledger.store.query(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                [table],
            )
            if c not in WALL_CLOCK
        ]
        rows = ledger.store.query(f'SELECT {", ".join(columns)} FROM "{table}"')
        contents[table] = sorted(rows, key=repr)
    return contents


def _demo(seed: int):
    ledger = open_ledger(":memory:", currency="USD", agreement="MOSA")
    fill_ledger(ledger, end=DAY, seed=seed)
    return ledger


def test_the_demo_built_twice_for_the_same_day_and_seed_holds_the_same_data():
    first, again = _contents(_demo(7)), _contents(_demo(7))
    assert first == again
    assert len(first["pstn_call"]) > 40_000 and len(first["tenant_user"]) == 302


def test_another_seed_gives_other_people():
    users_7, _, _, _ = demo_tenant(random.Random(7))
    users_8, _, _, _ = demo_tenant(random.Random(8))
    assert [u["userPrincipalName"] for u in users_7] != [u["userPrincipalName"] for u in users_8]


def test_the_demo_call_log_is_in_time_order_and_people_call_on_weekdays_only():
    _, _, _, callers = demo_tenant(random.Random(7))
    calls = demo_calls(random.Random(7), callers, DAY, 14)
    starts = [datetime.fromisoformat(c["startDateTime"]) for c in calls]
    assert starts == sorted(starts)
    assert {s.weekday() for s in starts} == {0, 1, 2, 3, 4}
    assert {c["callType"] for c in calls} == {"user_out", "conf_out", "ucap_in"}


def test_every_demo_license_seat_is_either_held_by_a_user_or_spare():
    users, skus, _, _ = demo_tenant(random.Random(7))
    held = Counter(lic["skuId"] for user in users for lic in user["assignedLicenses"])
    assert {s["skuId"] for s in skus} == set(held)
    for sku in skus:
        assert sku["consumedUnits"] == held[sku["skuId"]]
        assert sku["prepaidUnits"]["enabled"] == held[sku["skuId"]] + SPARE_SEATS[sku["skuPartNumber"]]
