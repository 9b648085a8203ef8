"""The embedded demo tenant: Contoso, a few hundred users with real Microsoft license SKUs, phone numbers,
14 months of call logs in Microsoft Graph's pstnCallLogRow shape (made by `demo_calls`), funding, auto-recharges
and expiries, ending today. Deterministic for a given day and seed. Build it with `python -m commcredits.demo PATH`.

Everything goes through the package's own import, rating and settlement, exactly as a real tenant's data
would: the demo is also an end-to-end check of those paths.
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from .credits.billing import BillingDetails, save_billing
from .credits.ledger import Ledger, open_ledger
from .demo_calls import OWN_PREFIX, demo_calls
from .licensing.catalog import load_catalog
from .licensing.tenant import import_graph_tenant, import_phone_numbers
from .tenant_setup import record_setup
from .usage.call_import import import_pstn_calls
from .usage.rate_and_settle import rate_and_settle
from .usage.rating import load_included_minutes, load_rate_card

HISTORY_DAYS = 420
USERS = 300
DOMAIN = "contoso.com"
FIRST = [
    "Ada",
    "Ben",
    "Carla",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jon",
    "Kemal",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urban",
    "Varga",
    "Weber",
]
DEPARTMENTS = ["Sales", "Support", "Finance", "Engineering", "Operations", "Marketing", "HR"]
# usage location -> how many of the demo's people work there (weight); their numbers are in demo_calls.OWN_PREFIX
COUNTRIES = {"US": 60, "GB": 15, "DE": 12, "FR": 8, "CA": 5}


def demo_end(today: datetime | None = None) -> datetime:
    """The demo's last instant: the start of today (UTC), so the demo is current whenever it is built."""
    now = today or datetime.now(UTC)
    return datetime.combine(now.date(), time(0), tzinfo=UTC)


def _sku(part_number: str) -> str:
    product = load_catalog().by_part_number(part_number)
    if product is None:  # the shipped catalog is Microsoft's file: a missing SKU is a packaging bug
        raise LookupError(f"{part_number} is not in the SKU catalog")
    return product.sku_id


def _license_profile(rng: random.Random) -> tuple[list[str], str, bool]:
    """(SKU part numbers, calling plan capability used on calls or '', has Communication Credits)."""
    roll = rng.random()
    credits = rng.random() < 0.85
    if roll < 0.18:
        return ["SPE_E5", "MCOPSTN1"], "MCOPSTN1", credits  # E5 + Domestic Calling Plan
    if roll < 0.30:
        return ["SPE_E5"], "", credits  # E5: conferencing only
    if roll < 0.40:
        return ["SPE_E3", "MCOEV", "MCOPSTN1"], "MCOPSTN1", credits  # Teams Phone + Domestic
    if roll < 0.45:
        return ["SPE_E3", "MCOEV", "MCOPSTN2"], "MCOPSTN2", credits  # Teams Phone + Domestic and International
    if roll < 0.62:
        return ["SPE_E3", "MCOMEETADV"], "", credits  # Audio Conferencing add-on
    if roll < 0.64:
        return ["SPE_E3", "MCOPSTN1"], "MCOPSTN1", credits  # Calling Plan without Teams Phone: broken
    return ["SPE_E3" if roll < 0.92 else "STANDARDPACK"], "", False  # no telephony


def demo_tenant(rng: random.Random) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """Graph `users` and `subscribedSkus`, phone number rows, and the people who call (for the call log)."""
    users, phones, callers, seen = [], [], [], set()
    for n in range(USERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        upn = _unique_upn(rng, first, last, seen)
        country = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0]
        parts, plan, credits = _license_profile(rng)
        if credits:
            parts = [*parts, "MCOPSTNC"]
        user = _user(rng, upn, f"{first} {last}", country, _assigned(rng, parts, plan))
        users.append(user)
        number = f"{OWN_PREFIX[country]}{n:04d}"
        if plan and rng.random() > 0.04:
            phones.append({"userPrincipalName": upn, "phoneNumber": number})
        if plan or "MCOMEETADV" in parts or parts[0] == "SPE_E5":
            callers.append(
                {
                    "id": user["id"],
                    "upn": upn,
                    "name": f"{first} {last}",
                    "country": country,
                    "number": number,
                    "plan": plan,
                }
            )
    users += _resource_accounts(rng)
    return users, _subscribed_skus(users), phones, callers


def _unique_upn(rng: random.Random, first: str, last: str, seen: set[str]) -> str:
    """first.last@contoso.com, with a number added when the name is taken; `seen` collects it."""
    upn = f"{first}.{last}".lower()
    while upn in seen:
        upn = f"{first}.{last}{rng.randint(2, 99)}".lower()
    seen.add(upn)
    return f"{upn}@{DOMAIN}"


def _assigned(rng: random.Random, parts: list[str], plan: str) -> list[dict]:
    """Graph assignedLicenses for these SKUs; for a few E5 users with a Calling Plan an admin turned Teams Phone off."""
    assigned = [{"skuId": _sku(p), "disabledPlans": []} for p in parts]
    if parts[0] == "SPE_E5" and plan and rng.random() < 0.08:
        teams_phone = next(
            sp.service_plan_id
            for sp in load_catalog().product(_sku("SPE_E5")).service_plans
            if sp.service_plan_name == "MCOEV"
        )
        assigned[0]["disabledPlans"] = [teams_phone]
    return assigned


def _user(rng: random.Random, upn: str, name: str, country: str, assigned: list[dict]) -> dict:
    """One Graph user; a few have no usage location (no license can be assigned to them)."""
    user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    located = rng.random() > 0.015
    return {
        "id": user_id,
        "userPrincipalName": upn,
        "displayName": name,
        "usageLocation": country if located else None,
        "department": rng.choice(DEPARTMENTS),
        "assignedLicenses": assigned,
    }


def _resource_accounts(rng: random.Random) -> list[dict]:
    """The auto attendant and call queue: resource accounts with Teams Phone Resource Account and credits."""
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "userPrincipalName": f"{name}@{DOMAIN}",
            "displayName": label,
            "usageLocation": "US",
            "department": None,
            "assignedLicenses": [
                {"skuId": _sku("PHONESYSTEM_VIRTUALUSER"), "disabledPlans": []},
                {"skuId": _sku("MCOPSTNC"), "disabledPlans": []},
            ],
        }
        for name, label in (("main-line", "Main line auto attendant"), ("support-queue", "Support call queue"))
    ]


# seats bought beyond those assigned, per SKU
SPARE_SEATS = {
    "SPE_E5": 10,
    "SPE_E3": 25,
    "STANDARDPACK": 5,
    "MCOEV": 20,
    "MCOPSTN1": 15,
    "MCOPSTN2": 3,
    "MCOMEETADV": 10,
    "MCOPSTNC": 9_000,
    "PHONESYSTEM_VIRTUALUSER": 3,
}


def _subscribed_skus(users: list[dict]) -> list[dict]:
    """Graph subscribedSkus: every seat the users hold plus the spare ones."""
    held = Counter(lic["skuId"] for user in users for lic in user["assignedLicenses"])
    skus = []
    for part, extra in SPARE_SEATS.items():
        product = load_catalog().product(_sku(part))
        skus.append(
            {
                "skuId": product.sku_id,
                "skuPartNumber": product.sku_part_number,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": held[product.sku_id],
                "prepaidUnits": {"enabled": held[product.sku_id] + extra, "suspended": 0, "warning": 0},
                "servicePlans": [
                    {"servicePlanId": sp.service_plan_id, "servicePlanName": sp.service_plan_name}
                    for sp in product.service_plans
                ],
            }
        )
    return skus


def fill_ledger(ledger: Ledger, *, end: datetime, seed: int = 7) -> None:
    """Record the demo tenant and its history into `ledger` (deterministic for a given `end` and `seed`)."""
    rng = random.Random(seed)
    start = end - timedelta(days=HISTORY_DAYS)
    callers = fill_tenant(ledger, rng)
    import_pstn_calls(ledger, demo_calls(rng, callers, start, HISTORY_DAYS), progress=False)
    fund_and_settle(ledger, start=start, end=end)


def fill_tenant(ledger: Ledger, rng: random.Random) -> list[dict]:
    """The demo tenant's billing details, users, licenses, phone numbers, rate card and included minutes;
    returns the users who make calls."""
    users, skus, phones, callers = demo_tenant(rng)
    # marked as sample data: every page of the demo says so
    record_setup(
        ledger,
        organisation="Contoso (demo)",
        currency=ledger.currency,
        agreement=ledger.agreement,
        time_zone="UTC",
        sample_data=True,
    )
    save_billing(
        ledger.store,
        BillingDetails(
            "Contoso Ltd",
            "1 Microsoft Way",
            "Redmond",
            "98052",
            "US",
            "US-91-1144442",
            "PO-2025-0117",
            "ap@contoso.com",
        ),
    )
    import_graph_tenant(ledger.store, users, skus, source="demo")
    import_phone_numbers(ledger.store, phones, source="demo phone numbers")
    load_rate_card(ledger)
    load_included_minutes(ledger)
    return callers


def fund_and_settle(ledger: Ledger, *, start: datetime, end: datetime) -> None:
    """Rate the imported calls, then fund the tenant as the demo's admin did and settle up to `end`: a generous
    first order (part of it expires unused), a small top-up, then auto-recharge keeps calls going."""
    ledger.add_funds("6000.00", at=start + timedelta(hours=9), order_id="CONTOSO-PO-0001")
    ledger.set_auto_recharge(amount="300.00", below="100.00")
    top_up = start + timedelta(days=300, hours=7)
    rate_and_settle(ledger, until=top_up)
    ledger.add_funds("250.00", at=top_up, order_id="CONTOSO-PO-0002")
    rate_and_settle(ledger, until=end)


def build_demo(path: str | Path, *, today: datetime | None = None, seed: int = 7) -> Ledger:
    """Build the demo ledger in memory, then write it to `path` (which must not exist yet)."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} exists; delete it to rebuild the demo tenant.")
    target.parent.mkdir(parents=True, exist_ok=True)
    ledger = open_ledger(":memory:", currency="USD", agreement="MOSA")
    fill_ledger(ledger, end=demo_end(today), seed=seed)
    ledger.store.copy_to(target)
    return open_ledger(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the commcredits demo tenant (a DuckDB file).")
    parser.add_argument("path", help="DuckDB file to create, e.g. data/demo.duckdb")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    ledger = build_demo(args.path, seed=args.seed)
    print(f"demo tenant written to {args.path}: balance {ledger.balance()} {ledger.currency}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
