"""The tenant from files, without Graph: what an admin can download today, uploaded together.

- the Microsoft 365 admin center's active users export (CSV) or Graph `users` JSON: who, and their licenses;
- Graph `subscribedSkus` JSON: the seats (uploaded with one of the above);
- the Teams admin center's phone numbers export (CSV): who has which number.

`preview_tenant_files` reads and checks everything and stores nothing; `import_tenant_files` stores the users
(with the seats) in one transaction and the phone numbers in another, each only when its files have no problem
at all. A newer export imported later replaces the snapshot, and every difference goes to the history.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..credits.ledger import Ledger
from ..errors import Problem, TenantImportError
from . import admin_center as ac
from .catalog import load_catalog
from .tenant import validate_phone_numbers
from .tenant_checks import validate_skus, validate_users
from .tenant_read import ImportResult, read_graph_collection
from .tenant_store import current_sku_ids, store_phone_numbers, store_tenant

MAX_FILE_BYTES = 64 << 20  # an export of 100,000 users is about 40 MiB

ACTIVE_USERS, GRAPH_USERS, SUBSCRIBED_SKUS, PHONE_NUMBERS = (
    "active_users",
    "graph_users",
    "subscribed_skus",
    "phone_numbers",
)
KIND_LABELS = {
    ACTIVE_USERS: "Active users export (Microsoft 365 admin center)",
    GRAPH_USERS: "Users (Graph JSON)",
    SUBSCRIBED_SKUS: "Subscriptions and seats (Graph subscribedSkus JSON)",
    PHONE_NUMBERS: "Phone numbers export (Teams admin center)",
}


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes


@dataclass
class FileCheck:
    """One file: what it is, its rows, a few of them for the preview, and every problem found."""

    name: str
    kind: str | None
    rows: int = 0
    sample: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    note: str = ""

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, "Not a file the workbook knows")


@dataclass
class TenantFilesCheck:
    """Every file checked, plus what would be stored (rows ready for `store_tenant` / `store_phone_numbers`)."""

    files: list[FileCheck]
    users: tuple | None = None  # (users, licenses, skus, sku_plans, source)
    phones: tuple | None = None  # (staged rows, source)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]


def _text(upload: UploadedFile) -> str:
    data = upload.content
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    return data.decode(encoding)


def _file_problem(check: FileCheck, column: str, message: str) -> FileCheck:
    check.problems.append(Problem(column, message, record=check.name))
    return check


def _csv_rows(upload: UploadedFile) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(_text(upload), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def identify(upload: UploadedFile) -> tuple[FileCheck, object]:
    """What the file is, and its parsed content (CSV rows or JSON); problems say why it is not readable."""
    check = FileCheck(upload.name, None)
    if len(upload.content) > MAX_FILE_BYTES:
        return _file_problem(check, "file", f"larger than {MAX_FILE_BYTES >> 20} MiB; export fewer rows"), None
    try:
        if upload.name.lower().endswith(".json"):
            data = json.loads(_text(upload))
            records = data.get("value") if isinstance(data, dict) else data
            first = records[0] if isinstance(records, list) and records else {}
            check.kind = SUBSCRIBED_SKUS if isinstance(first, dict) and "skuPartNumber" in first else GRAPH_USERS
            return check, data
        header, rows = _csv_rows(upload)
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as error:
        return _file_problem(
            check, "file", f"cannot be read as {'JSON' if upload.name.lower().endswith('.json') else 'CSV'}: {error}"
        ), None
    if not ac.missing_columns(header, ac.ACTIVE_USERS_REQUIRED):
        check.kind = ACTIVE_USERS
    elif any(c.lower() in {h.strip().lower() for h in header} for c in ac.PHONE_NUMBER_COLUMNS):
        check.kind = PHONE_NUMBERS
    else:
        return _file_problem(
            check,
            "header",
            "not an export the workbook knows: the active users export needs the "
            f"columns {', '.join(ac.ACTIVE_USERS_REQUIRED)}; the phone numbers export "
            f"needs {ac.PHONE_REQUIRED}",
        ), None
    return check, rows


def check_tenant_files(ledger: Ledger, uploads: Sequence[UploadedFile]) -> TenantFilesCheck:
    """Read and check every file; store nothing."""
    parsed = [identify(u) for u in uploads]
    result = TenantFilesCheck([c for c, _ in parsed])
    by_kind: dict[str, list[tuple[FileCheck, object]]] = {}
    for check, data in parsed:
        if check.kind and not check.problems:
            by_kind.setdefault(check.kind, []).append((check, data))
    for kind, found in by_kind.items():
        for check, _ in found[1:]:
            _file_problem(
                check,
                "file",
                f"a second {KIND_LABELS[kind].lower()} ({found[0][0].name} is the first); upload one of each",
            )
    users = _check_users(ledger, by_kind, result)
    if PHONE_NUMBERS in by_kind:
        check, rows = by_kind[PHONE_NUMBERS][0]
        if users is None:  # the numbers belong to the users imported before
            users = [
                dict(zip(("user_id", "user_principal_name", "display_name"), row))
                for row in ledger.store.query("SELECT user_id, user_principal_name, display_name FROM tenant_user")
            ]
        result.phones = _check_phones(check, rows, users)
    return result


def _check_users(ledger: Ledger, by_kind: dict, result: TenantFilesCheck) -> list[dict] | None:
    """Check the users file (and seats); returns the users it would store, None when no users file is given."""
    skus = sku_plans = None
    owned = current_sku_ids(ledger.store)
    sku_entry = by_kind.get(SUBSCRIBED_SKUS, [None])[0]
    if sku_entry:
        check, data = sku_entry
        try:
            skus, sku_plans, problems = validate_skus(read_graph_collection(data, check.name))
        except TenantImportError as error:
            skus, problems = None, list(error.problems)
        check.problems += problems
        check.rows = len(skus or [])
        check.sample = [
            {"License": s["sku_part_number"], "Seats": s["enabled_units"], "Assigned": s["consumed_units"]}
            for s in (skus or [])[:5]
        ]
        owned |= {s["sku_part_number"].lower(): s["sku_id"] for s in skus or []}
    users_entry = (by_kind.get(ACTIVE_USERS) or by_kind.get(GRAPH_USERS) or [None])[0]
    if users_entry is None:
        if sku_entry:
            _file_problem(sku_entry[0], "file", "upload the users with it: the active users export or Graph users JSON")
        return None
    check, data = users_entry
    known = set(load_catalog().products) | set(owned.values())
    if check.kind == ACTIVE_USERS:
        records, problems = ac.active_users_records(data, check.name, ac.product_names(owned))
        users, licenses, more = validate_users(records, known)
        problems += ac.in_admin_center_words(more)
    else:
        try:
            users, licenses, problems = validate_users(read_graph_collection(data, check.name), known)
        except TenantImportError as error:
            users, licenses, problems = [], [], list(error.problems)
    check.problems += problems
    check.rows = len(users)
    names = {}
    for lic in licenses:
        names.setdefault(lic["user_id"], []).append(lic["sku_id"])
    check.sample = [
        {
            "Display name": u["display_name"],
            "User principal name": u["user_principal_name"],
            "Usage location": u["usage_location"] or "",
            "Licenses": len(names.get(u["user_id"], [])),
        }
        for u in users[:5]
    ]
    if not result.problems:
        source = f"{check.name}" + (f" + {sku_entry[0].name}" if sku_entry else "")
        result.users = (users, licenses, skus, sku_plans, source)
    return users


def _user_lookup(users: list[dict]) -> dict[str, str]:
    """Object id, sign-in name and display name (when only one user has it) -> sign-in name, all lower case:
    the Teams admin center names the user a number is assigned to, Export-CsAcquiredPhoneNumber gives the id."""
    names: dict[str, list[str]] = {}
    for u in users:
        if u["display_name"]:
            names.setdefault(u["display_name"].lower(), []).append(u["user_principal_name"])
    lookup = {name: upns[0] for name, upns in names.items() if len(upns) == 1}
    for u in users:
        lookup[u["user_id"].lower()] = lookup[u["user_principal_name"].lower()] = u["user_principal_name"]
    return lookup


def _check_phones(check: FileCheck, rows: list[dict], users: list[dict]):
    by_upn = {u["user_principal_name"].lower(): u["user_id"] for u in users}
    assigned, problems, unassigned = ac.phone_rows(rows, check.name, _user_lookup(users))
    staged, more = validate_phone_numbers(assigned, by_upn, check.name)
    check.problems += problems + [
        replace(p, field="Phone number" if p.field == "phoneNumber" else "Assigned to") for p in more
    ]
    check.rows = len(staged)
    check.note = f"{unassigned} unassigned number{'s' if unassigned != 1 else ''} skipped" if unassigned else ""
    check.sample = [{"Assigned to": r["userPrincipalName"], "Phone number": r["phoneNumber"]} for r in assigned[:5]]
    return (staged, check.name) if not check.problems else None


def import_tenant_files(ledger: Ledger, uploads: Sequence[UploadedFile]) -> list[tuple[str, ImportResult]]:
    """Store what `check_tenant_files` found, when no file has a problem; raises TenantImportError otherwise,
    with the ledger unchanged. Users and seats are one transaction, phone numbers another."""
    checked = check_tenant_files(ledger, uploads)
    if checked.problems:
        raise TenantImportError(checked.problems)
    stored = []
    if checked.users:
        users, licenses, skus, sku_plans, source = checked.users
        stored.append((source, store_tenant(ledger.store, users, licenses, skus, sku_plans, source)))
    if checked.phones:
        staged, source = checked.phones
        stored.append((source, store_phone_numbers(ledger.store, staged, source)))
    return stored
