"""Checks of Microsoft Graph `subscribedSkus` and `users` records before a tenant import: one small check per
field, each recording its problem the one way (`RecordProblems`), so every bad record and field is reported at
once and a record with a problem gives no row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..countries import ISO_COUNTRIES
from ..errors import Problem
from .tenant_read import EMAIL, GUID, Record, RecordProblems, clean_text

MAX_SEATS = 10**9  # seat counts fit DuckDB's BIGINT


def _objects(records: list[Record], what: str, problems: list[Problem]) -> Iterator[tuple[Record, Mapping]]:
    """Each record that is an object, with its data; every other record is a problem ("expected an object")."""
    for rec in records:
        if isinstance(rec.data, Mapping):
            yield rec, rec.data
        else:
            problems.append(Problem("record", f"expected an object ({what})", record=rec.where))


def validate_skus(records: list[Record]) -> tuple[list[dict], list[dict], list[Problem]]:
    """Rows for the tenant's SKUs and their service plans from Graph subscribedSkus records, and every problem;
    a record with a problem gives no row."""
    skus: list[dict] = []
    plans: list[dict] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for rec, r in _objects(records, "a subscribedSku", problems):
        sku_id = clean_text(r.get("skuId"))
        part = clean_text(r.get("skuPartNumber"))
        problem = RecordProblems(rec.where, part or sku_id)
        _check_sku_id(problem, sku_id, r.get("skuId"), seen)
        if part is None:
            problem("skuPartNumber", "missing")
        seats = _seat_counts(problem, r)
        service_plans = _service_plans(problem, r)
        problems += problem.found
        if problem.found:
            continue
        sku_id = sku_id.lower()
        seen[sku_id] = rec.where
        skus.append(
            {
                "sku_id": sku_id,
                "sku_part_number": part,
                **seats,
                "capability_status": clean_text(r.get("capabilityStatus")),
            }
        )
        plans.extend(
            {
                "sku_id": sku_id,
                "service_plan_id": str(p["servicePlanId"]).lower(),
                "service_plan_name": clean_text(p["servicePlanName"]),
            }
            for p in service_plans
        )
    return skus, plans, problems


def _check_sku_id(problem: RecordProblems, sku_id: str | None, raw: Any, seen: Mapping[str, str]) -> None:
    if sku_id is None or not GUID.match(sku_id):
        problem("skuId", f"{raw!r} is not a license GUID")
    elif sku_id.lower() in seen:
        problem("skuId", f"listed twice (also {seen[sku_id.lower()]})")


def _seat_counts(problem: RecordProblems, r: Mapping) -> dict[str, Any]:
    """The SKU's seat counts by column; each that is not a whole number of seats is a problem."""
    prepaid = r.get("prepaidUnits") if isinstance(r.get("prepaidUnits"), Mapping) else {}
    seats: dict[str, Any] = {}
    for column, name, value in (
        ("enabled_units", "prepaidUnits.enabled", prepaid.get("enabled")),
        # warning/suspended are optional (older exports leave them out): absent means none
        ("warning_units", "prepaidUnits.warning", prepaid.get("warning", 0)),
        ("suspended_units", "prepaidUnits.suspended", prepaid.get("suspended", 0)),
        ("consumed_units", "consumedUnits", r.get("consumedUnits", 0)),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEATS:
            problem(name, f"{str(value)[:30]!r} is not a whole number of seats (0 to {MAX_SEATS:,})")
        seats[column] = value
    return seats


def _service_plans(problem: RecordProblems, r: Mapping) -> Any:
    service_plans = r.get("servicePlans") or []
    if not isinstance(service_plans, list) or not all(
        isinstance(p, Mapping) and GUID.match(str(p.get("servicePlanId", ""))) and clean_text(p.get("servicePlanName"))
        for p in service_plans
    ):
        problem("servicePlans", "each service plan needs a servicePlanId (GUID) and a servicePlanName")
    return service_plans


def validate_users(records: list[Record], known_skus: set[str]) -> tuple[list[dict], list[dict], list[Problem]]:
    """Rows for the tenant's users and their licenses from Graph user records, and every problem; a record with
    a problem gives no row. `known_skus`: the skuIds a license may name."""
    users: list[dict] = []
    licenses: list[dict] = []
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    seen_upns: dict[str, str] = {}
    for rec, r in _objects(records, "a user", problems):
        upn = clean_text(r.get("userPrincipalName"))
        user_id = clean_text(r.get("id"))
        problem = RecordProblems(rec.where, upn)
        _check_upn(problem, upn, seen_upns)
        _check_user_id(problem, user_id, seen_ids)
        location = _usage_location(problem, clean_text(r.get("usageLocation")))
        for name in ("displayName", "department", "country"):
            if r.get(name) is not None and not isinstance(r.get(name), str):
                problem(name, "expected text")
        user_licenses = _assigned_licenses(problem, r.get("assignedLicenses") or [], known_skus)
        problems += problem.found
        if problem.found:
            continue
        seen_ids[user_id.lower()] = rec.where
        seen_upns[upn.lower()] = rec.where
        users.append(
            {
                "user_id": user_id,
                "user_principal_name": upn,
                "display_name": clean_text(r.get("displayName")),
                "department": clean_text(r.get("department")),
                "country": clean_text(r.get("country")),
                "usage_location": location,
            }
        )
        licenses.extend({"user_id": user_id, **lic} for lic in user_licenses)
    return users, licenses, problems


def _check_upn(problem: RecordProblems, upn: str | None, seen: Mapping[str, str]) -> None:
    if upn is None:
        problem("userPrincipalName", "missing")
    elif not EMAIL.match(upn):
        problem("userPrincipalName", f"{upn!r} is not an email-style sign-in name (name@domain)")
    elif upn.lower() in seen:
        problem("userPrincipalName", f"duplicate user: also {seen[upn.lower()]}")


def _check_user_id(problem: RecordProblems, user_id: str | None, seen: Mapping[str, str]) -> None:
    if user_id is None:
        problem("id", "missing")
    elif user_id.lower() in seen:
        problem("id", f"duplicate user id {user_id}: also {seen[user_id.lower()]}")


def _usage_location(problem: RecordProblems, location: str | None) -> str | None:
    """The usage location in capitals; one that is not an ISO country code is a problem."""
    if location is None:
        return None
    if location.upper() not in ISO_COUNTRIES:
        problem("usageLocation", f"{location!r} is not an ISO 3166 two-letter country code (for example US, GB, DE)")
    return location.upper()


def _assigned_licenses(problem: RecordProblems, assigned: Any, known_skus: set[str]) -> list[dict]:
    """The user's licenses as {sku_id, disabled_plans}; each bad one is a problem and left out."""
    if not isinstance(assigned, list):
        problem("assignedLicenses", "expected a list of {skuId, disabledPlans}")
        return []
    held: set[str] = set()
    licenses = [
        _assigned_license(problem, f"assignedLicenses[{j}]", lic, known_skus, held) for j, lic in enumerate(assigned)
    ]
    return [lic for lic in licenses if lic is not None]


def _assigned_license(
    problem: RecordProblems, name: str, lic: Any, known_skus: set[str], held: set[str]
) -> dict | None:
    """One assigned license, or None (after recording the problem) when it is bad; `held` collects its skuId."""
    sku_id = clean_text(lic.get("skuId")) if isinstance(lic, Mapping) else None
    if sku_id is None or not GUID.match(sku_id):
        problem(f"{name}.skuId", f"{sku_id!r} is not a license GUID")
        return None
    sku_id = sku_id.lower()
    if sku_id not in known_skus:
        problem(f"{name}.skuId", f"unknown skuId {sku_id}: not a Microsoft product and not in subscribedSkus")
        return None
    if sku_id in held:
        problem(f"{name}.skuId", f"license {sku_id} is listed twice")
        return None
    held.add(sku_id)
    disabled = lic.get("disabledPlans") or []
    if not isinstance(disabled, list) or not all(isinstance(p, str) and GUID.match(p) for p in disabled):
        problem(f"{name}.disabledPlans", "expected a list of service plan GUIDs")
        return None
    return {"sku_id": sku_id, "disabled_plans": sorted({p.lower() for p in disabled})}
