"""Import a Microsoft 365 tenant: users and their licenses, subscribed SKUs (seats), phone numbers.

Input is Microsoft Graph JSON (`GET /users`, `GET /subscribedSkus`; read by `tenant_read`) or simple CSV.
Everything is validated first (`tenant_checks`); problems are collected and raised as one TenantImportError
naming each record and field. Only then is the snapshot replaced, in one transaction (`tenant_store`), and every
difference from the previous snapshot appended to the history (`license_history` view).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import phonenumbers

from ..credits.ledger import Ledger
from ..errors import Problem, TenantImportError
from ..store import Store, store_of
from .catalog import load_catalog
from .tenant_checks import validate_skus, validate_users
from .tenant_read import (
    GUID,
    ImportResult,
    Record,
    RecordProblems,
    clean_text,
    read_graph_collection,
)
from .tenant_store import current_sku_ids, store_phone_numbers, store_tenant


def import_graph_tenant(
    ledger: Ledger, users: Any, subscribed_skus: Any = None, *, source: str = "graph"
) -> ImportResult:
    """Replace the tenant snapshot with Graph `users` (and `subscribedSkus`; None keeps the previous seats).

    Each argument may be a Graph page dict (`{"value": [...]}`), a list of pages or of records, a JSON file or
    a folder of page files. Raises TenantImportError listing every bad record; then nothing is stored.
    """
    store = store_of(ledger)
    user_records = read_graph_collection(users, "users")
    problems: list[Problem] = []
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
    problems: list[Problem] = []
    for i, row in enumerate(rows, start=1):
        row = {(k or "").strip(): v for k, v in row.items()}
        upn = clean_text(row.get("userPrincipalName"))
        problem = RecordProblems(f"{label} row {i}", upn)
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
                "id": clean_text(row.get("id")) or (upn or "").lower() or None,
                "userPrincipalName": upn,
                "displayName": clean_text(row.get("displayName")),
                "usageLocation": clean_text(row.get("usageLocation")),
                "department": clean_text(row.get("department")),
                "country": clean_text(row.get("country")),
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
        raise TenantImportError([Problem("file", f"cannot read CSV: {exc}", record=path.name)]) from exc


def import_users_csv(ledger: Ledger, path: str | Path, *, source: str | None = None) -> ImportResult:
    """Replace the users snapshot from a CSV (see users_from_csv_rows); seats stay as last imported."""
    store = store_of(ledger)
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
) -> tuple[list[dict], list[Problem]]:
    """Staged rows (user_id, phone_number, is_toll_free) from {userPrincipalName, phoneNumber[, where]} rows, and
    the problems; `by_upn` maps lower-case sign-in names to user ids."""
    staged_rows: list[dict] = []
    problems: list[Problem] = []
    seen_users: dict[str, str] = {}
    seen_numbers: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        where = row.get("where") or f"{source} row {i}"
        upn = clean_text(row.get("userPrincipalName"))
        user_id = by_upn.get((upn or "").lower())
        problem = RecordProblems(where, upn)
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


def _users_by_upn(store: Store) -> dict[str, str]:
    """Lower-case sign-in name -> user id of the imported tenant."""
    return {upn.lower(): uid for uid, upn in store.query("SELECT user_id, user_principal_name FROM tenant_user")}


def import_phone_numbers(
    ledger: Ledger, rows: Iterable[Mapping[str, str]], *, source: str = "phone numbers"
) -> ImportResult:
    """Replace every user's phone number from rows of {userPrincipalName, phoneNumber}. Raises TenantImportError."""
    store = store_of(ledger)
    staged_rows, problems = validate_phone_numbers(rows, _users_by_upn(store), source)
    if problems:
        raise TenantImportError(problems)
    return store_phone_numbers(store, staged_rows, source)


def import_phone_numbers_csv(ledger: Ledger, path: str | Path) -> ImportResult:
    """Replace every user's phone number from a CSV with columns userPrincipalName, phoneNumber."""
    store = store_of(ledger)
    path = Path(path)
    return import_phone_numbers(store, _read_csv(path), source=path.name)
