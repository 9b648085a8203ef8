"""The embedded demo tenant: Contoso, a few hundred users with real Microsoft license SKUs, phone numbers,
14 months of call logs in Microsoft Graph's pstnCallLogRow shape, funding, auto-recharges and expiries,
ending today. Deterministic for a given day and seed. Build it with `python -m commcredits.demo PATH`.

Everything goes through the package's own import, rating and settlement, exactly as a real tenant's data
would: the demo is also an end-to-end check of those paths.
"""

from __future__ import annotations

import argparse
import random
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .credits.billing import BillingDetails, save_billing
from .credits.ledger import Ledger, open_ledger
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
# usage location -> (weight, own-number prefix, dialling plan of domestic numbers)
COUNTRIES = {"US": 60, "GB": 15, "DE": 12, "FR": 8, "CA": 5}
OWN_PREFIX = {"US": "+1425555", "CA": "+1416555", "GB": "+44207946", "DE": "+49309018", "FR": "+3314567"}
# international destinations people call, with E.164 prefixes that phonenumbers recognises, how often, and
# the per-minute price the demo's "Microsoft" charges for them (invented, USD)
ABROAD = [
    ("+44 20 7946", 7, "0.04"),
    ("+49 30 9018", 6, "0.04"),
    ("+33 1 4567", 6, "0.04"),
    ("+52 55 5555", 4, "0.05"),
    ("+91 22 6123", 4, "0.09"),
    ("+81 3 5555", 2, "0.08"),
    ("+61 2 9999", 2, "0.06"),
    ("+55 11 5555", 2, "0.09"),
    ("+44 7700 900", 3, "0.10"),
    ("+49 151 2345", 2, "0.12"),
]
TOLL_FREE_PER_MINUTE = Decimal("0.03")
CONFERENCE_DIAL_OUT_PER_MINUTE = Decimal("0.024")  # charged to credits beyond what Audio Conferencing includes
TOLL_FREE_NUMBER = "+18005550100"


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
    catalog = load_catalog()
    users, phones, callers, seen = [], [], [], set()
    counts: dict[str, int] = {}
    for n in range(USERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        upn = f"{first}.{last}".lower()
        while upn in seen:
            upn = f"{first}.{last}{rng.randint(2, 99)}".lower()
        seen.add(upn)
        country = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0]
        parts, plan, credits = _license_profile(rng)
        if credits:
            parts = [*parts, "MCOPSTNC"]
        assigned = [{"skuId": _sku(p), "disabledPlans": []} for p in parts]
        if parts[0] == "SPE_E5" and plan and rng.random() < 0.08:  # an admin once switched Teams Phone off
            teams_phone = next(
                sp.service_plan_id
                for sp in catalog.product(_sku("SPE_E5")).service_plans
                if sp.service_plan_name == "MCOEV"
            )
            assigned[0]["disabledPlans"] = [teams_phone]
        for p in parts:
            counts[p] = counts.get(p, 0) + 1
        user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        located = rng.random() > 0.015
        users.append(
            {
                "id": user_id,
                "userPrincipalName": f"{upn}@{DOMAIN}",
                "displayName": f"{first} {last}",
                "usageLocation": country if located else None,
                "department": rng.choice(DEPARTMENTS),
                "assignedLicenses": assigned,
            }
        )
        number = f"{OWN_PREFIX[country]}{n:04d}"
        if plan and rng.random() > 0.04:
            phones.append({"userPrincipalName": f"{upn}@{DOMAIN}", "phoneNumber": number})
        if plan or "MCOMEETADV" in parts or parts[0] == "SPE_E5":
            callers.append(
                {
                    "id": user_id,
                    "upn": f"{upn}@{DOMAIN}",
                    "name": f"{first} {last}",
                    "country": country,
                    "number": number,
                    "plan": plan,
                }
            )
    for name, label in (("main-line", "Main line auto attendant"), ("support-queue", "Support call queue")):
        users.append(
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
        )
        counts["PHONESYSTEM_VIRTUALUSER"] = counts.get("PHONESYSTEM_VIRTUALUSER", 0) + 1
        counts["MCOPSTNC"] = counts.get("MCOPSTNC", 0) + 1
    spare = {
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
    skus = []
    for part, extra in spare.items():
        product = catalog.product(_sku(part))
        skus.append(
            {
                "skuId": product.sku_id,
                "skuPartNumber": product.sku_part_number,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": counts.get(part, 0),
                "prepaidUnits": {"enabled": counts.get(part, 0) + extra, "suspended": 0, "warning": 0},
                "servicePlans": [
                    {"servicePlanId": sp.service_plan_id, "servicePlanName": sp.service_plan_name}
                    for sp in product.service_plans
                ],
            }
        )
    return users, skus, phones, callers


def demo_calls(rng: random.Random, callers: list[dict], start: datetime, days: int) -> list[dict]:
    """A call log in Microsoft Graph's pstnCallLogRow shape (getPstnCalls), one row per call."""
    rows = []

    def row(when, seconds, caller, call_type, callee, context, capability, charge="0.00"):
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "callId": f"{rng.getrandbits(40)}_{len(rows)}@52.114.2.1",
                "userId": caller and caller["id"],
                "userPrincipalName": caller and caller["upn"],
                "userDisplayName": caller and caller["name"],
                "startDateTime": when.isoformat().replace("+00:00", "Z"),
                "endDateTime": (when + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
                "duration": seconds,
                "charge": charge,
                "connectionCharge": 0,
                "currency": "USD",
                "callType": call_type,
                "calleeNumber": callee,
                "callerNumber": caller["number"] if caller else TOLL_FREE_NUMBER,
                "destinationContext": context,
                "destinationName": None,
                "licenseCapability": capability,
                "inventoryType": "Subscriber" if caller else "Service Toll-Free",
                "operator": "Microsoft",
                "callDurationSource": "microsoft",
                "usageCountryCode": caller["country"] if caller else "US",
                "tenantCountryCode": "US",
            }
        )

    planned = [c for c in callers if c["plan"]]
    conferencing = [c for c in callers if not c["plan"]]
    for day in range(days):
        midnight = start + timedelta(days=day)
        if midnight.weekday() >= 5:
            continue
        busy = 1.0 + 0.3 * ((day // 30) % 3)  # some months are busier than others
        for caller in planned:
            for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
                when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
                seconds = int(rng.expovariate(1 / 300)) + 20
                domestic = f"{OWN_PREFIX[caller['country']]}{rng.randint(5000, 9999)}"
                row(when, seconds, caller, "user_out", domestic, "Domestic", caller["plan"])
            if rng.random() < 0.11 * busy:
                prefix, _, price = rng.choices(ABROAD, weights=[w for _, w, _ in ABROAD])[0]
                callee = "+" + "".join(ch for ch in prefix if ch.isdigit()) + f"{rng.randint(100, 999)}"
                when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
                seconds = int(rng.expovariate(1 / 1100)) + 60
                # a Domestic Calling Plan includes no international minutes: Microsoft charges them to credits
                charge = _per_minute(seconds, Decimal(price)) if caller["plan"] == "MCOPSTN1" else "0.00"
                row(
                    when,
                    seconds,
                    caller,
                    "user_out",
                    callee,
                    "International",
                    "MCOPSTNPP" if caller["plan"] == "MCOPSTN1" else caller["plan"],
                    charge,
                )
        for caller in rng.sample(conferencing, k=min(len(conferencing), 6)):
            when = midnight + timedelta(seconds=rng.randint(8 * 3600, 18 * 3600))
            callee = f"{OWN_PREFIX[caller['country']]}{rng.randint(5000, 9999)}"
            seconds = int(rng.expovariate(1 / 1500)) + 60
            paid = rng.random() < 0.3  # dial-out beyond what the conferencing license includes
            row(
                when,
                seconds,
                caller,
                "conf_out",
                callee,
                "Domestic",
                "MCOPSTNPP" if paid else "MCOMEETADD",
                _per_minute(seconds, CONFERENCE_DIAL_OUT_PER_MINUTE) if paid else "0.00",
            )
        for _ in range(rng.randint(4, 12)):  # toll-free calls into the auto attendant, paid from credits
            when = midnight + timedelta(seconds=rng.randint(7 * 3600, 19 * 3600))
            seconds = int(rng.expovariate(1 / 240)) + 15
            row(
                when,
                seconds,
                None,
                "ucap_in",
                TOLL_FREE_NUMBER,
                "Domestic",
                "MCOPSTNPP",
                _per_minute(seconds, TOLL_FREE_PER_MINUTE),
            )
    rows.sort(key=lambda r: r["startDateTime"])
    return _billing_variety(rows, start + timedelta(days=days))


OPERATOR_CONNECT = "Fabrikam Telecom"  # an Operator Connect carrier (Microsoft's sample company name)


def _billing_variety(rows: list[dict], end: datetime) -> list[dict]:
    """What a real tenant's log also holds (docs/billing.md): French users' domestic calls carried by an
    Operator Connect carrier that bills them itself, German meeting dial-outs Microsoft charged in EUR, and
    the last day's charged calls still without a charge (the report lags 24-48 hours): estimates only."""
    recent = (end - timedelta(hours=30)).isoformat().replace("+00:00", "Z")
    for r in rows:
        if r["usageCountryCode"] == "FR" and r["callType"] == "user_out" and r["destinationContext"] == "Domestic":
            r.update(
                operator=OPERATOR_CONNECT,
                callDurationSource="operator",
                currency="EUR",
                charge=_per_minute(r["duration"], Decimal("0.02")),
                licenseCapability="MCOEV",
            )
        elif r["usageCountryCode"] == "DE" and r["callType"] == "conf_out" and r["licenseCapability"] == "MCOPSTNPP":
            r["currency"] = "EUR"
        if r["startDateTime"] >= recent and r["operator"] == "Microsoft" and r["charge"] != "0.00":
            r["charge"] = None
    return rows


def _per_minute(seconds: int, price: Decimal) -> str:
    """The demo's charge: per started minute, rounded half-up to the cent, as text (Graph sends a number)."""
    return str((-(-seconds // 60) * price).quantize(Decimal("0.01"), ROUND_HALF_UP))


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
