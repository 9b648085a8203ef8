"""Benchmark: plan "make everyone ready" for 100,000 generated users, set-based vs a per-row Python baseline.

    python bench/bench_license_planning.py [users]

Both are measured in the same run on the same tenant. The baseline is the obvious per-user loop an engineer
would write: read the users' licenses once, then decide each user in Python with the same rules (it skips
dormant-plan re-enabling and problem messages, so it does less work than the set-based plan).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from commcredits.credits.ledger import open_ledger
from commcredits.licensing.catalog import (
    AUDIO_CONFERENCING_SKU,
    COMMUNICATION_CREDITS_SKU,
    DOMESTIC_CALLING_PLAN_SKU,
    TEAMS_PHONE_SKU,
    Capability,
    load_catalog,
)
from commcredits.licensing.plans import make_ready, plan_license_changes
from commcredits.licensing.tenant import import_graph_tenant

E5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
POOL = [E5, E3, TEAMS_PHONE_SKU, DOMESTIC_CALLING_PLAN_SKU, AUDIO_CONFERENCING_SKU, COMMUNICATION_CREDITS_SKU]


def generate(n: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    users = []
    for i in range(n):
        skus = {rng.choice([E5, E3])} | {s for s in POOL[2:] if rng.random() < 0.25}
        users.append(
            {
                "id": f"{i:08d}-0000-4000-8000-000000000000",
                "userPrincipalName": f"user{i:06d}@contoso.com",
                "displayName": f"User {i}",
                "department": rng.choice(["Sales", "Support", "Finance"]),
                "usageLocation": rng.choice(["US", "GB", "DE", None]),
                "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in sorted(skus)],
            }
        )
    consumed = {s: sum(any(l["skuId"] == s for l in u["assignedLicenses"]) for u in users) for s in POOL}
    skus = [
        {
            "skuId": s,
            "skuPartNumber": load_catalog().product(s).sku_part_number,
            "prepaidUnits": {"enabled": consumed[s] + n // 10},
            "consumedUnits": consumed[s],
        }
        for s in POOL
    ]
    return users, skus


def per_row_baseline(store, usage_location: str = "US") -> list[tuple[str, str]]:
    """Decide each user in a Python loop with the catalog (same seat order: by sign-in name)."""
    catalog = load_catalog()
    held: dict[str, list] = {}
    for user_id, sku_id, disabled in store.query("SELECT user_id, sku_id, disabled_plans FROM user_license"):
        held.setdefault(user_id, []).append((sku_id, disabled))
    free = dict(store.query("SELECT sku_id, free_units FROM sku_seats"))
    users = store.query(
        "SELECT user_id, user_principal_name, usage_location FROM tenant_user ORDER BY user_principal_name"
    )
    out = []
    for user_id, upn, location in users:
        caps = catalog.capabilities(held.get(user_id, []))
        if not (location or usage_location):
            continue
        has_cp = bool(
            caps
            & {
                Capability.DOMESTIC_CALLING_PLAN,
                Capability.INTERNATIONAL_CALLING_PLAN,
                Capability.PAY_AS_YOU_GO_CALLING_PLAN,
            }
        )
        has_ac = Capability.AUDIO_CONFERENCING in caps
        before = len(out)
        if has_cp and Capability.TEAMS_PHONE not in caps and free.get(TEAMS_PHONE_SKU, 0) > 0:
            free[TEAMS_PHONE_SKU] -= 1
            out.append((upn, TEAMS_PHONE_SKU))
        if not (has_ac or has_cp) and free.get(AUDIO_CONFERENCING_SKU, 0) > 0:
            free[AUDIO_CONFERENCING_SKU] -= 1
            out.append((upn, AUDIO_CONFERENCING_SKU))
            has_ac = True
        if (
            (has_ac or has_cp)
            and Capability.COMMUNICATION_CREDITS not in caps
            and free.get(COMMUNICATION_CREDITS_SKU, 0) > 0
        ):
            free[COMMUNICATION_CREDITS_SKU] -= 1
            out.append((upn, COMMUNICATION_CREDITS_SKU))
        if not location and len(out) > before:
            out.append((upn, "usage_location"))
    return out


def main(n: int) -> None:
    users, skus = generate(n)
    ledger = open_ledger(currency="USD")
    ledger.add_funds(Decimal("1000.00"), at=datetime.now(UTC), order_id="bench")
    started = time.perf_counter()
    import_graph_tenant(ledger.store, users, skus)
    print(f"import of {n:,} users: {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    plan = plan_license_changes(ledger.store, "everyone", make_ready(usage_location="US"))
    set_based = time.perf_counter() - started

    started = time.perf_counter()
    baseline = per_row_baseline(ledger.store)
    per_row = time.perf_counter() - started

    print(f"set-based plan:    {set_based:.2f} s ({len(plan.changes):,} changes, {len(plan.problems)} problem kinds)")
    print(f"per-row baseline:  {per_row:.2f} s ({len(baseline):,} changes)")
    print(f"ratio (baseline / set-based): {per_row / set_based:.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
