"""Import a Microsoft 365 tenant: users and their licenses, subscribed SKUs (seats), phone numbers.

Input is Microsoft Graph JSON (`GET /users`, `GET /subscribedSkus`; read by `tenant_read`) or simple CSV.
Everything is validated first; problems are collected and raised as one TenantImportError naming each record
and field. Only then is the snapshot replaced, in one transaction (`tenant_store`), and every difference from
the previous snapshot appended to the history (`license_history` view).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

from ..countries import ISO_COUNTRIES
from ..store import Store
from .catalog import load_catalog
from .tenant_read import (  # noqa: F401 - GUID, ImportResult and staged are imported from here by plans/exports
    EMAIL,
    GUID,
    ImportProblem,
    ImportResult,
    Record,
    TenantImportError,
    read_graph_collection,
)
from .tenant_store import current_sku_ids, staged, store_phone_numbers, store_tenant  # noqa: F401

MAX_SEATS = 10**9  # seat counts fit DuckDB's BIGINT


# ---------------------------------------------------------------------------------------------- validating


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass
class _RecordProblems:
    """The one way a check records a problem: each names the record (`where`) and whose it is (`key`).
    Call it with the field and the message; `found` holds what this record's checks found."""

    where: str
    key: str | None
    found: list[ImportProblem] = field(default_factory=list)

    def __call__(self, name: str, message: str) -> None:
        self.found.append(ImportProblem(self.where, self.key, name, message))


def validate_skus(records: list[Record]) -> tuple[list[dict], list[dict], list[ImportProblem]]:
    """Rows for the tenant's SKUs and their service plans from Graph subscribedSkus records, and every problem;
    a record with a problem gives no row."""
    skus: list[dict] = []
    plans: list[dict] = []
    problems: list[ImportProblem] = []
    seen: dict[str, str] = {}
    for rec in records:
        r = rec.data
        if not isinstance(r, Mapping):
            problems.append(ImportProblem(rec.where, None, "record", "expected an object (a subscribedSku)"))
            continue
        sku_id = _text(r.get("skuId"))
        part = _text(r.get("skuPartNumber"))
        problem = _RecordProblems(rec.where, part or sku_id)
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
            {"sku_id": sku_id, "sku_part_number": part, **seats, "capability_status": _text(r.get("capabilityStatus"))}
        )
        plans.extend(
            {
                "sku_id": sku_id,
                "service_plan_id": str(p["servicePlanId"]).lower(),
                "service_plan_name": _text(p["servicePlanName"]),
            }
            for p in service_plans
        )
    return skus, plans, problems


def _check_sku_id(problem: _RecordProblems, sku_id: str | None, raw: Any, seen: Mapping[str, str]) -> None:
    if sku_id is None or not GUID.match(sku_id):
        problem("skuId", f"{raw!r} is not a license GUID")
    elif sku_id.lower() in seen:
        problem("skuId", f"listed twice (also {seen[sku_id.lower()]})")


def _seat_counts(problem: _RecordProblems, r: Mapping) -> dict[str, Any]:
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


def _service_plans(problem: _RecordProblems, r: Mapping) -> Any:
    service_plans = r.get("servicePlans") or []
    if not isinstance(service_plans, list) or not all(
        isinstance(p, Mapping) and GUID.match(str(p.get("servicePlanId", ""))) and _text(p.get("servicePlanName"))
        for p in service_plans
    ):
        problem("servicePlans", "each service plan needs a servicePlanId (GUID) and a servicePlanName")
    return service_plans


def validate_users(records: list[Record], known_skus: set[str]) -> tuple[list[dict], list[dict], list[ImportProblem]]:
    """Rows for the tenant's users and their licenses from Graph user records, and every problem; a record with
    a problem gives no row. `known_skus`: the skuIds a license may name."""
    users: list[dict] = []
    licenses: list[dict] = []
    problems: list[ImportProblem] = []
    seen_ids: dict[str, str] = {}
    seen_upns: dict[str, str] = {}
    for rec in records:
        r = rec.data
        if not isinstance(r, Mapping):
            problems.append(ImportProblem(rec.where, None, "record", "expected an object (a user)"))
            continue
        upn = _text(r.get("userPrincipalName"))
        user_id = _text(r.get("id"))
        problem = _RecordProblems(rec.where, upn)
        _check_upn(problem, upn, seen_upns)
        _check_user_id(problem, user_id, seen_ids)
        location = _usage_location(problem, _text(r.get("usageLocation")))
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
                "display_name": _text(r.get("displayName")),
                "department": _text(r.get("department")),
                "country": _text(r.get("country")),
                "usage_location": location,
            }
        )
        licenses.extend({"user_id": user_id, **lic} for lic in user_licenses)
    return users, licenses, problems


def _check_upn(problem: _RecordProblems, upn: str | None, seen: Mapping[str, str]) -> None:
    if upn is None:
        problem("userPrincipalName", "missing")
    elif not EMAIL.match(upn):
        problem("userPrincipalName", f"{upn!r} is not an email-style sign-in name (name@domain)")
    elif upn.lower() in seen:
        problem("userPrincipalName", f"duplicate user: also {seen[upn.lower()]}")


def _check_user_id(problem: _RecordProblems, user_id: str | None, seen: Mapping[str, str]) -> None:
    if user_id is None:
        problem("id", "missing")
    elif user_id.lower() in seen:
        problem("id", f"duplicate user id {user_id}: also {seen[user_id.lower()]}")


def _usage_location(problem: _RecordProblems, location: str | None) -> str | None:
    """The usage location in capitals; one that is not an ISO country code is a problem."""
    if location is None:
        return None
    if location.upper() not in ISO_COUNTRIES:
        problem("usageLocation", f"{location!r} is not an ISO 3166 two-letter country code (for example US, GB, DE)")
    return location.upper()


def _assigned_licenses(problem: _RecordProblems, assigned: Any, known_skus: set[str]) -> list[dict]:
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
    problem: _RecordProblems, name: str, lic: Any, known_skus: set[str], held: set[str]
) -> dict | None:
    """One assigned license, or None (after recording the problem) when it is bad; `held` collects its skuId."""
    sku_id = _text(lic.get("skuId")) if isinstance(lic, Mapping) else None
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


# ---------------------------------------------------------------------------------------------- public


def import_graph_tenant(
    store: Store, users: Any, subscribed_skus: Any = None, *, source: str = "graph"
) -> ImportResult:
    """Replace the tenant snapshot with Graph `users` (and `subscribedSkus`; None keeps the previous seats).

    Each argument may be a Graph page dict (`{"value": [...]}`), a list of pages or of records, a JSON file or
    a folder of page files. Raises TenantImportError listing every bad record; then nothing is stored.
    """
    user_records = read_graph_collection(users, "users")
    problems: list[ImportProblem] = []
    skus = sku_plans = None
    if subscribed_skus is not None:
        skus, sku_plans, problems = validate_skus(read_graph_collection(subscribed_skus, "subscribedSkus"))
    known = set(load_catalog().products) | set(current_sku_ids(store).values())
    known |= {s["sku_id"] for s in skus or []}
    user_rows, license_rows, user_problems = validate_users(user_records, known)
    problems += user_problems
    if problems:
        raise TenantImportError(problems)
    return store_tenant(store, user_rows, license_rows, skus, sku_plans, source)


def _split_licenses(value: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[;+,]", value or "") if part.strip()]


def users_from_csv_rows(
    rows: Iterable[Mapping[str, str]], part_numbers: Mapping[str, str], label: str = "users.csv"
) -> list[dict]:
    """Graph-shaped user dicts from CSV rows (userPrincipalName, displayName, usageLocation, department,
    country, id, licenses = skuIds or skuPartNumbers separated by ';'). Raises TenantImportError."""
    catalog = load_catalog()
    users: list[dict] = []
    problems: list[ImportProblem] = []
    for i, row in enumerate(rows, start=1):
        row = {(k or "").strip(): v for k, v in row.items()}
        upn = _text(row.get("userPrincipalName"))
        problem = _RecordProblems(f"{label} row {i}", upn)
        assigned = []
        for name in _split_licenses(row.get("licenses")):
            if GUID.match(name):
                assigned.append({"skuId": name, "disabledPlans": []})
                continue
            product = catalog.by_part_number(name)
            sku_id = part_numbers.get(name.lower()) or (product.sku_id if product else None)
            if sku_id is None:
                problem("licenses", f"unknown license {name!r}: use a skuId or a skuPartNumber such as MCOEV")
            else:
                assigned.append({"skuId": sku_id, "disabledPlans": []})
        problems += problem.found
        users.append(
            {
                "id": _text(row.get("id")) or (upn or "").lower() or None,
                "userPrincipalName": upn,
                "displayName": _text(row.get("displayName")),
                "usageLocation": _text(row.get("usageLocation")),
                "department": _text(row.get("department")),
                "country": _text(row.get("country")),
                "assignedLicenses": assigned,
            }
        )
    if problems:
        raise TenantImportError(problems)
    return users


def _read_csv(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TenantImportError([ImportProblem(path.name, None, "file", f"cannot read CSV: {exc}")]) from exc


def import_users_csv(store: Store, path: str | Path, *, source: str | None = None) -> ImportResult:
    """Replace the users snapshot from a CSV (see users_from_csv_rows); seats stay as last imported."""
    path = Path(path)
    users = users_from_csv_rows(_read_csv(path), current_sku_ids(store), label=path.name)
    records = [Record(f"{path.name} row {i}", u) for i, u in enumerate(users, start=1)]
    known = set(load_catalog().products) | set(current_sku_ids(store).values())
    user_rows, license_rows, problems = validate_users(records, known)
    if problems:
        raise TenantImportError(problems)
    return store_tenant(store, user_rows, license_rows, None, None, source or f"csv:{path.name}")


def normalize_phone_number(raw: str | None) -> str:
    """The E.164 form of an international phone number; raises ValueError in plain words."""
    if not raw or not raw.strip():
        raise ValueError("missing")
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(
            f"{raw!r} is not a phone number in international form (+ country code, e.g. +14255550100)"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{raw!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_toll_free(phone_number: str) -> bool:
    """True when the country's numbering plan makes this (E.164) number toll-free, e.g. +1 800 ..., +44 800 ...

    Microsoft charges calls to toll-free service numbers to Communication Credits, so the workbook needs to know
    which resource accounts hold one. Pure: no store, no network.
    """
    try:
        number = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE


def validate_phone_numbers(
    rows: Iterable[Mapping[str, str]], by_upn: Mapping[str, str], source: str
) -> tuple[list[dict], list[ImportProblem]]:
    """Staged rows (user_id, phone_number, is_toll_free) from {userPrincipalName, phoneNumber[, where]} rows, and
    the problems; `by_upn` maps lower-case sign-in names to user ids."""
    staged_rows: list[dict] = []
    problems: list[ImportProblem] = []
    seen_users: dict[str, str] = {}
    seen_numbers: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        where = row.get("where") or f"{source} row {i}"
        upn = _text(row.get("userPrincipalName"))
        user_id = by_upn.get((upn or "").lower())
        problem = _RecordProblems(where, upn)
        if upn is None:
            problem("userPrincipalName", "missing")
        elif user_id is None:
            problem("userPrincipalName", "no such user in the imported tenant")
        elif user_id in seen_users:
            problem("userPrincipalName", f"listed twice (also {seen_users[user_id]})")
        try:
            number = normalize_phone_number(row.get("phoneNumber"))
            if number in seen_numbers:
                problem("phoneNumber", f"{number} is already given to {seen_numbers[number]}")
        except ValueError as exc:
            problem("phoneNumber", str(exc))
            number = None
        problems += problem.found
        if problem.found:
            continue
        seen_users[user_id] = where.removeprefix(f"{source} ")
        seen_numbers[number] = where.removeprefix(f"{source} ")
        staged_rows.append({"user_id": user_id, "phone_number": number, "is_toll_free": is_toll_free(number)})
    return staged_rows, problems


def tenant_users_by_upn(store: Store) -> dict[str, str]:
    """Lower-case sign-in name -> user id of the imported tenant."""
    return {upn.lower(): uid for uid, upn in store.query("SELECT user_id, user_principal_name FROM tenant_user")}


def import_phone_numbers(
    store: Store, rows: Iterable[Mapping[str, str]], *, source: str = "phone numbers"
) -> ImportResult:
    """Replace every user's phone number from rows of {userPrincipalName, phoneNumber}. Raises TenantImportError."""
    staged_rows, problems = validate_phone_numbers(rows, tenant_users_by_upn(store), source)
    if problems:
        raise TenantImportError(problems)
    return store_phone_numbers(store, staged_rows, source)


def import_phone_numbers_csv(store: Store, path: str | Path) -> ImportResult:
    """Replace every user's phone number from a CSV with columns userPrincipalName, phoneNumber."""
    path = Path(path)
    return import_phone_numbers(store, _read_csv(path), source=path.name)
