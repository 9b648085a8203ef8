"""Readers for the files admins download from the admin centers, in the admin centers' own column names.

- Microsoft 365 admin center, Users > Active users > Export users: one row per user; `Licenses` holds the
  product names the admin center shows, joined by "+" ("Unlicensed" for none).
- Teams admin center, Voice > Phone numbers > Export (and `Export-CsAcquiredPhoneNumber`): one row per number,
  with the user it is assigned to.

Each reader returns Graph-shaped records (what `tenant.py` validates) or phone rows, and reports problems with
the file, the spreadsheet row (the header is row 1) and the column as the admin center writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from ..countries import country_names
from ..errors import Problem
from .catalog import FRIENDLY_SKU_NAMES, load_catalog
from .tenant_read import GUID, Record

# Column headers of the active users export (docs/licensing.md lists the others it has; they are ignored).
UPN, DISPLAY_NAME, LICENSES = "User principal name", "Display name", "Licenses"
USAGE_LOCATION, DEPARTMENT, OBJECT_ID, COUNTRY = "Usage location", "Department", "Object Id", "Country/Region"
ACTIVE_USERS_REQUIRED = (UPN, LICENSES)
UNLICENSED = "unlicensed"

# The same fields in Graph's words, for problems found by the shared validation.
GRAPH_TO_ADMIN_CENTER = {
    "userPrincipalName": UPN,
    "displayName": DISPLAY_NAME,
    "usageLocation": USAGE_LOCATION,
    "department": DEPARTMENT,
    "id": OBJECT_ID,
    "country": COUNTRY,
    "assignedLicenses": LICENSES,
}

# Phone numbers: the Teams admin center's headers, then Export-CsAcquiredPhoneNumber's property names.
PHONE_NUMBER_COLUMNS = ("Phone number", "TelephoneNumber")
ASSIGNED_TO_COLUMNS = ("Assigned to", "TargetId")
PHONE_REQUIRED = "Phone number"

# The names the Teams docs and admin center use for calling licenses, beside Microsoft's product-name file.
ADMIN_CENTER_ALIASES = {
    "microsoft teams domestic calling plan": "0dab259f-bf13-4952-b7f8-7db8f131b28d",
    "microsoft teams domestic and international calling plan": "d3b4fe1f-9992-4930-8acb-ca6ec609365e",
    "microsoft teams communications credits": "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0",
    "microsoft teams audio conferencing": "0c266dff-15dd-4b49-8397-2bb16070ed52",
}


def _key(name: str) -> str:
    return " ".join(name.split()).lower()


def product_names(owned: Mapping[str, str] | None = None) -> dict[str, str]:
    """Product name (lower case) -> skuId: Microsoft's product-name file, the friendly names, the aliases, and
    the skuPartNumbers. Where Microsoft gives one name to several products, the one the tenant owns wins
    (`owned`: skuPartNumber -> skuId of the tenant's subscriptions), else the first by GUID."""
    owned_ids = set((owned or {}).values())
    names: dict[str, str] = {}
    for product in sorted(load_catalog().products.values(), key=lambda p: (p.sku_id not in owned_ids, p.sku_id)):
        names.setdefault(_key(product.product_name), product.sku_id)
        names.setdefault(_key(product.sku_part_number), product.sku_id)
    names.update({_key(name): sku for sku, name in FRIENDLY_SKU_NAMES.items()})
    names.update(ADMIN_CENTER_ALIASES)
    names.update({_key(part): sku for part, sku in (owned or {}).items()})
    return names


def split_licenses(value: str, names: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(skuIds, names not recognised) of a Licenses cell. Names may themselves hold "+" ("Enterprise Mobility +
    Security E3"), so adjacent parts are joined while the joined name is a known product."""
    parts = [p.strip() for p in (value or "").split("+")]
    found, unknown, i = [], [], 0
    while i < len(parts):
        if not parts[i] or _key(parts[i]) == UNLICENSED:
            i += 1
            continue
        end = next((j for j in range(len(parts), i, -1) if _key(" + ".join(parts[i:j])) in names), None)
        if end is None:
            unknown.append(parts[i])
            i += 1
            continue
        found.append(names[_key(" + ".join(parts[i:end]))])
        i = end
    return found, unknown


def missing_columns(header: Iterable[str], required: Iterable[str]) -> list[str]:
    present = {(h or "").strip().lower() for h in header}
    return [column for column in required if column.lower() not in present]


def _cells(row: Mapping[str, str]) -> dict[str, str]:
    return {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}


def _location(value: str) -> str:
    """A two-letter code as Graph writes it; the export may carry the country's name instead."""
    if len(value) == 2 or not value:
        return value
    by_name = {name.lower(): code for code, name in country_names().items()}
    return by_name.get(value.lower(), value)


def active_users_records(
    rows: Iterable[Mapping[str, str]], label: str, names: Mapping[str, str]
) -> tuple[list[Record], list[Problem]]:
    """Graph-shaped user records from the active users export, and the license names it could not map."""
    records, problems = [], []
    for number, row in enumerate(rows, start=2):
        cells = _cells(row)
        where = f"{label} row {number}"
        upn = cells.get(UPN.lower()) or None
        skus, unknown = split_licenses(cells.get(LICENSES.lower(), ""), names)
        for name in unknown:
            problems.append(
                Problem(
                    LICENSES,
                    f"{name!r} is not a product name Microsoft lists; "
                    "export again from the admin center or check the name",
                    record=where,
                    key=upn,
                )
            )
        object_id = cells.get(OBJECT_ID.lower())
        records.append(
            Record(
                where,
                {
                    "id": object_id if object_id and GUID.match(object_id) else (upn or "").lower() or None,
                    "userPrincipalName": upn,
                    "displayName": cells.get(DISPLAY_NAME.lower()) or None,
                    "usageLocation": _location(cells.get(USAGE_LOCATION.lower(), "")) or None,
                    "department": cells.get(DEPARTMENT.lower()) or None,
                    "country": cells.get(COUNTRY.lower()) or None,
                    "assignedLicenses": [{"skuId": sku, "disabledPlans": []} for sku in dict.fromkeys(skus)],
                },
            )
        )
    return records, problems


def in_admin_center_words(problems: Iterable[Problem]) -> list[Problem]:
    """Problems with Graph field names renamed to the export's column names (assignedLicenses[2].skuId -> Licenses)."""
    renamed = []
    for p in problems:
        field = GRAPH_TO_ADMIN_CENTER.get(re.split(r"[\[.]", p.field)[0], p.field)
        renamed.append(replace(p, field=field))
    return renamed


def phone_rows(
    rows: Iterable[Mapping[str, str]], label: str, users: Mapping[str, str]
) -> tuple[list[dict], list[Problem], int]:
    """{userPrincipalName, phoneNumber, where} of numbers assigned to users, problems, and how many numbers
    are unassigned (skipped). `users` maps object ids, sign-in names and display names (lower case) to UPNs."""
    out, problems, unassigned = [], [], 0
    for number, row in enumerate(rows, start=2):
        cells = _cells(row)
        where = f"{label} row {number}"
        phone = next((cells[c.lower()] for c in PHONE_NUMBER_COLUMNS if cells.get(c.lower())), "")
        target = next((cells[c.lower()] for c in ASSIGNED_TO_COLUMNS if cells.get(c.lower())), "")
        if not target:
            unassigned += 1
            continue
        upn = users.get(target.lower())
        if upn is None:
            problems.append(
                Problem(
                    ASSIGNED_TO_COLUMNS[0],
                    "no such user in the tenant: import the active users export first",
                    record=where,
                    key=target,
                )
            )
            continue
        out.append({"userPrincipalName": upn, "phoneNumber": phone, "where": where})
    return out, problems, unassigned
