"""Import a Microsoft 365 tenant: users and their licenses, subscribed SKUs (seats), phone numbers.

Input is Microsoft Graph JSON (`GET /users`, `GET /subscribedSkus`) as a dict, a list, a file or a folder of
`@odata.nextLink` pages, or simple CSV. Everything is validated first; problems are collected and raised as
one TenantImportError naming each record and field. Only then is the snapshot replaced, in one transaction,
and every difference from the previous snapshot appended to the history (`license_history` view).
"""

from __future__ import annotations

import csv
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import phonenumbers
import pyarrow as pa

from .catalog import SERVICE_PLAN_CAPABILITIES, load_catalog
from ..countries import ISO_COUNTRIES
from ..errors import InvalidInput
from ..store import Store, named_sql

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

MAX_PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class ImportProblem:
    """One bad value: where it is (`record`, e.g. "users.json record 3"), whose it is, which field, what's wrong."""

    record: str
    key: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f" ({self.key})" if self.key else ""
        return f"{self.record}{who}: {self.field}: {self.message}"


class TenantImportError(InvalidInput):
    """The tenant data has problems; nothing was imported. `problems` lists every one."""

    def __init__(self, problems: Sequence[ImportProblem]):
        self.problems = tuple(problems)
        shown = "\n".join(f"- {p}" for p in self.problems[:MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n- ... and {more} more" if more > 0 else ""
        field = self.problems[0].field if len(self.problems) == 1 else "import"
        count = "1 problem" if len(self.problems) == 1 else f"{len(self.problems)} problems"
        super().__init__(field, f"Nothing was imported; fix {count} and import again:\n{shown}{tail}")


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: counts, and how many history rows it appended."""

    import_id: int
    users: int
    licenses: int
    skus: int
    changes: int


@dataclass(frozen=True)
class _Record:
    where: str
    data: Any


# ---------------------------------------------------------------------------------------------- reading

# Reading guards (docs/reliability.md): a Graph export page is a few MiB; seat counts fit DuckDB's BIGINT.
MAX_JSON_FILE_BYTES = 256 << 20
MAX_SEATS = 10**9


def _load_json(path: Path) -> Any:
    def refuse(message: str) -> TenantImportError:
        return TenantImportError([ImportProblem(path.name, None, "JSON", message)])

    if path.stat().st_size > MAX_JSON_FILE_BYTES:
        raise refuse(f"the file is larger than {MAX_JSON_FILE_BYTES >> 20} MiB; a Graph page is a few MiB.")
    data = path.read_bytes()
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return json.loads(data.decode(encoding))
    except json.JSONDecodeError as exc:
        raise refuse(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise refuse("not a UTF-8 or UTF-16 text file; save it as UTF-8.") from exc
    except RecursionError:
        raise refuse("the JSON is nested too deeply to be a Graph response.") from None


def _is_page(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "value" in obj


def read_graph_collection(source: Any, what: str) -> list[_Record]:
    """Records of a Graph collection from a page dict, a list of pages or records, a JSON file or a folder."""
    pages: list[tuple[str, Any]]
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
            if not files:
                raise TenantImportError([ImportProblem(str(path), None, what, "the folder holds no .json pages")])
            pages = [(p.name, _load_json(p)) for p in files]
        elif path.is_file():
            pages = [(path.name, _load_json(path))]
        else:
            raise TenantImportError([ImportProblem(str(path), None, what, "no such file or folder")])
    elif _is_page(source):
        pages = [(what, source)]
    elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        if source and all(_is_page(p) for p in source):
            pages = [(f"{what} page {i + 1}", p) for i, p in enumerate(source)]
        else:
            pages = [(what, {"value": list(source)})]
    else:
        raise TenantImportError([ImportProblem(what, None, what, "expected Graph JSON: a dict with \"value\", a list, a file or a folder")])

    records: list[_Record] = []
    problems: list[ImportProblem] = []
    for number, (label, page) in enumerate(pages, start=1):
        if isinstance(page, list):
            page = {"value": page}
        if not _is_page(page) or not isinstance(page["value"], list):
            problems.append(ImportProblem(label, None, "value", f"expected a Graph page with a \"value\" list of {what}"))
            continue
        if page.get("@odata.nextLink") and number == len(pages):
            problems.append(ImportProblem(label, None, "@odata.nextLink",
                                          "this is the last page given but it says more pages follow; export every page"))
        records.extend(_Record(f"{label} record {i + 1}", r) for i, r in enumerate(page["value"]))
    if problems:
        raise TenantImportError(problems)
    return records


# ---------------------------------------------------------------------------------------------- validating

def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _validate_skus(records: list[_Record]) -> tuple[list[dict], list[dict], list[ImportProblem]]:
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
        key = part or sku_id
        bad = len(problems)
        if sku_id is None or not GUID.match(sku_id):
            problems.append(ImportProblem(rec.where, key, "skuId", f"{r.get('skuId')!r} is not a license GUID"))
        elif sku_id.lower() in seen:
            problems.append(ImportProblem(rec.where, key, "skuId", f"listed twice (also {seen[sku_id.lower()]})"))
        if part is None:
            problems.append(ImportProblem(rec.where, key, "skuPartNumber", "missing"))
        prepaid = r.get("prepaidUnits")
        enabled = prepaid.get("enabled") if isinstance(prepaid, Mapping) else None
        # warning/suspended are optional (older exports leave them out): absent means none
        warning = prepaid.get("warning", 0) if isinstance(prepaid, Mapping) else 0
        suspended = prepaid.get("suspended", 0) if isinstance(prepaid, Mapping) else 0
        consumed = r.get("consumedUnits", 0)
        for field, value in (("prepaidUnits.enabled", enabled), ("prepaidUnits.warning", warning),
                             ("prepaidUnits.suspended", suspended), ("consumedUnits", consumed)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEATS:
                problems.append(ImportProblem(rec.where, key, field, f"{str(value)[:30]!r} is not a whole number of seats "
                                                                     f"(0 to {MAX_SEATS:,})"))
        service_plans = r.get("servicePlans") or []
        if not isinstance(service_plans, list) or not all(
                isinstance(p, Mapping) and GUID.match(str(p.get("servicePlanId", ""))) and _text(p.get("servicePlanName"))
                for p in service_plans):
            problems.append(ImportProblem(rec.where, key, "servicePlans",
                                          "each service plan needs a servicePlanId (GUID) and a servicePlanName"))
        if len(problems) > bad:
            continue
        sku_id = sku_id.lower()
        seen[sku_id] = rec.where
        skus.append({"sku_id": sku_id, "sku_part_number": part, "enabled_units": enabled,
                     "consumed_units": consumed, "capability_status": _text(r.get("capabilityStatus")),
                     "warning_units": warning, "suspended_units": suspended})
        plans.extend({"sku_id": sku_id, "service_plan_id": str(p["servicePlanId"]).lower(),
                      "service_plan_name": _text(p["servicePlanName"])} for p in service_plans)
    return skus, plans, problems


def _validate_users(records: list[_Record], known_skus: set[str]) -> tuple[list[dict], list[dict], list[ImportProblem]]:
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
        bad = len(problems)

        def problem(field: str, message: str) -> None:
            problems.append(ImportProblem(rec.where, upn, field, message))

        if upn is None:
            problem("userPrincipalName", "missing")
        elif not EMAIL.match(upn):
            problem("userPrincipalName", f"{upn!r} is not an email-style sign-in name (name@domain)")
        elif upn.lower() in seen_upns:
            problem("userPrincipalName", f"duplicate user: also {seen_upns[upn.lower()]}")
        if user_id is None:
            problem("id", "missing")
        elif user_id.lower() in seen_ids:
            problem("id", f"duplicate user id {user_id}: also {seen_ids[user_id.lower()]}")
        location = _text(r.get("usageLocation"))
        if location is not None:
            if location.upper() not in ISO_COUNTRIES:
                problem("usageLocation", f"{location!r} is not an ISO 3166 two-letter country code (for example US, GB, DE)")
            location = location.upper()
        for field in ("displayName", "department", "country"):
            if r.get(field) is not None and not isinstance(r.get(field), str):
                problem(field, "expected text")
        assigned = r.get("assignedLicenses") or []
        user_licenses: list[dict] = []
        if not isinstance(assigned, list):
            problem("assignedLicenses", "expected a list of {skuId, disabledPlans}")
            assigned = []
        held: set[str] = set()
        for j, lic in enumerate(assigned):
            field = f"assignedLicenses[{j}]"
            sku_id = _text(lic.get("skuId")) if isinstance(lic, Mapping) else None
            if sku_id is None or not GUID.match(sku_id):
                problem(f"{field}.skuId", f"{sku_id!r} is not a license GUID")
                continue
            sku_id = sku_id.lower()
            if sku_id not in known_skus:
                problem(f"{field}.skuId", f"unknown skuId {sku_id}: not a Microsoft product and not in subscribedSkus")
                continue
            if sku_id in held:
                problem(f"{field}.skuId", f"license {sku_id} is listed twice")
                continue
            held.add(sku_id)
            disabled = lic.get("disabledPlans") or []
            if not isinstance(disabled, list) or not all(isinstance(p, str) and GUID.match(p) for p in disabled):
                problem(f"{field}.disabledPlans", "expected a list of service plan GUIDs")
                continue
            user_licenses.append({"sku_id": sku_id, "disabled_plans": sorted({p.lower() for p in disabled})})
        if len(problems) > bad:
            continue
        seen_ids[user_id.lower()] = f"{rec.where}"
        seen_upns[upn.lower()] = f"{rec.where}"
        users.append({"user_id": user_id, "user_principal_name": upn, "display_name": _text(r.get("displayName")),
                      "department": _text(r.get("department")), "country": _text(r.get("country")),
                      "usage_location": location})
        licenses.extend({"user_id": user_id, **lic} for lic in user_licenses)
    return users, licenses, problems


# ---------------------------------------------------------------------------------------------- storing

_IMPORT_SQL = named_sql("licensing_import")

_SCHEMAS = {
    "staged_user": pa.schema([("user_id", pa.string()), ("user_principal_name", pa.string()),
                              ("display_name", pa.string()), ("department", pa.string()),
                              ("country", pa.string()), ("usage_location", pa.string())]),
    "staged_license": pa.schema([("user_id", pa.string()), ("sku_id", pa.string()),
                                 ("disabled_plans", pa.list_(pa.string()))]),
    "staged_sku": pa.schema([("sku_id", pa.string()), ("sku_part_number", pa.string()),
                             ("enabled_units", pa.int64()), ("consumed_units", pa.int64()),
                             ("capability_status", pa.string()), ("warning_units", pa.int64()),
                             ("suspended_units", pa.int64())]),
    "staged_sku_plan": pa.schema([("sku_id", pa.string()), ("service_plan_id", pa.string()),
                                  ("service_plan_name", pa.string())]),
    "staged_phone": pa.schema([("user_id", pa.string()), ("phone_number", pa.string()),
                               ("is_toll_free", pa.bool_())]),
    "staged_catalog_sku": pa.schema([("sku_id", pa.string()), ("sku_part_number", pa.string()),
                                     ("product_name", pa.string())]),
    "staged_catalog_plan": pa.schema([("sku_id", pa.string()), ("service_plan_id", pa.string()),
                                      ("service_plan_name", pa.string()), ("capability", pa.string())]),
    "staged_capability": pa.schema([("service_plan_name", pa.string()), ("capability", pa.string())]),
}


@contextmanager
def staged(con, **tables: "list[dict] | pa.Table"):
    """Register row dicts (or Arrow tables) as relations named like the keyword for set-based SQL; unregister after."""
    try:
        for name, rows in tables.items():
            table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=_SCHEMAS[name])
            con.register(name, table)
        yield con
    finally:
        for name in tables:
            con.unregister(name)


def _run(con, name: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
    return con.execute(_IMPORT_SQL[name], dict(params) if params else None).fetchall()


def _catalog_rows() -> dict[str, list[dict]]:
    catalog = load_catalog()
    return {
        "staged_catalog_sku": [dict(zip(("sku_id", "sku_part_number", "product_name"), r)) for r in catalog.sku_rows()],
        "staged_catalog_plan": [dict(zip(("sku_id", "service_plan_id", "service_plan_name", "capability"), r))
                                for r in catalog.plan_rows()],
        "staged_capability": [{"service_plan_name": k, "capability": v.value}
                              for k, v in sorted(SERVICE_PLAN_CAPABILITIES.items())],
    }


def refresh_catalog(con) -> None:
    """Replace the catalog tables with the package's catalog (inside the caller's transaction)."""
    with staged(con, **_catalog_rows()):
        for name in ("refresh_catalog", "refresh_catalog_plans", "refresh_capabilities",
                     "insert_catalog", "insert_catalog_plans", "insert_capabilities"):
            _run(con, name)


def _change_count(con) -> int:
    return con.execute("SELECT count(*) FROM tenant_change").fetchall()[0][0]


def _store_tenant(store: Store, users: list[dict], licenses: list[dict], skus: list[dict] | None,
                  sku_plans: list[dict] | None, source: str) -> ImportResult:
    with store.transaction() as con:
        refresh_catalog(con)
        import_id = _run(con, "next_import_id")[0][0]
        before = _change_count(con)
        tables = {"staged_user": users, "staged_license": licenses}
        if skus is not None:
            tables |= {"staged_sku": skus, "staged_sku_plan": sku_plans or []}
        with staged(con, **tables):
            _run(con, "record_user_changes", {"import_id": import_id})
            _run(con, "record_license_changes", {"import_id": import_id})
            for name in ("replace_users", "insert_users", "replace_licenses", "insert_licenses",
                         "drop_orphan_phone_numbers"):
                _run(con, name)
            if skus is not None:
                for name in ("replace_skus", "insert_skus", "replace_sku_plans", "insert_sku_plans"):
                    _run(con, name)
        sku_count = con.execute("SELECT count(*) FROM tenant_sku").fetchall()[0][0]
        _run(con, "record_import", {"import_id": import_id, "kind": "tenant", "source": source,
                                    "user_count": len(users), "sku_count": sku_count})
        changes = _change_count(con) - before
    return ImportResult(import_id, len(users), len(licenses), sku_count, changes)


def _current_sku_ids(store: Store) -> dict[str, str]:
    return dict(store.query("SELECT lower(sku_part_number), sku_id FROM tenant_sku"))


# ---------------------------------------------------------------------------------------------- public

def import_graph_tenant(store: Store, users: Any, subscribed_skus: Any = None, *,
                        source: str = "graph") -> ImportResult:
    """Replace the tenant snapshot with Graph `users` (and `subscribedSkus`; None keeps the previous seats).

    Each argument may be a Graph page dict (`{"value": [...]}`), a list of pages or of records, a JSON file or
    a folder of page files. Raises TenantImportError listing every bad record; then nothing is stored.
    """
    user_records = read_graph_collection(users, "users")
    problems: list[ImportProblem] = []
    skus = sku_plans = None
    if subscribed_skus is not None:
        skus, sku_plans, problems = _validate_skus(read_graph_collection(subscribed_skus, "subscribedSkus"))
    known = set(load_catalog().products) | set(_current_sku_ids(store).values())
    known |= {s["sku_id"] for s in skus or []}
    user_rows, license_rows, user_problems = _validate_users(user_records, known)
    problems += user_problems
    if problems:
        raise TenantImportError(problems)
    return _store_tenant(store, user_rows, license_rows, skus, sku_plans, source)


def _split_licenses(value: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[;+,]", value or "") if part.strip()]


def users_from_csv_rows(rows: Iterable[Mapping[str, str]], part_numbers: Mapping[str, str],
                        label: str = "users.csv") -> list[dict]:
    """Graph-shaped user dicts from CSV rows (userPrincipalName, displayName, usageLocation, department,
    country, id, licenses = skuIds or skuPartNumbers separated by ';'). Raises TenantImportError."""
    catalog = load_catalog()
    users: list[dict] = []
    problems: list[ImportProblem] = []
    for i, row in enumerate(rows, start=1):
        row = {(k or "").strip(): v for k, v in row.items()}
        upn = _text(row.get("userPrincipalName"))
        assigned = []
        for name in _split_licenses(row.get("licenses")):
            if GUID.match(name):
                assigned.append({"skuId": name, "disabledPlans": []})
                continue
            product = catalog.by_part_number(name)
            sku_id = part_numbers.get(name.lower()) or (product.sku_id if product else None)
            if sku_id is None:
                problems.append(ImportProblem(f"{label} row {i}", upn, "licenses",
                                              f"unknown license {name!r}: use a skuId or a skuPartNumber such as MCOEV"))
            else:
                assigned.append({"skuId": sku_id, "disabledPlans": []})
        users.append({"id": _text(row.get("id")) or (upn or "").lower() or None, "userPrincipalName": upn,
                      "displayName": _text(row.get("displayName")), "usageLocation": _text(row.get("usageLocation")),
                      "department": _text(row.get("department")), "country": _text(row.get("country")),
                      "assignedLicenses": assigned})
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
    users = users_from_csv_rows(_read_csv(path), _current_sku_ids(store), label=path.name)
    records = [_Record(f"{path.name} row {i}", u) for i, u in enumerate(users, start=1)]
    known = set(load_catalog().products) | set(_current_sku_ids(store).values())
    user_rows, license_rows, problems = _validate_users(records, known)
    if problems:
        raise TenantImportError(problems)
    return _store_tenant(store, user_rows, license_rows, None, None, source or f"csv:{path.name}")


def normalize_phone_number(raw: str | None) -> str:
    """The E.164 form of an international phone number; raises ValueError in plain words."""
    if not raw or not raw.strip():
        raise ValueError("missing")
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number in international form (+ country code, e.g. +14255550100)") from exc
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


def import_phone_numbers(store: Store, rows: Iterable[Mapping[str, str]], *, source: str = "phone numbers") -> ImportResult:
    """Replace every user's phone number from rows of {userPrincipalName, phoneNumber}. Raises TenantImportError."""
    by_upn = {upn.lower(): uid for uid, upn in store.query("SELECT user_id, user_principal_name FROM tenant_user")}
    staged_rows: list[dict] = []
    problems: list[ImportProblem] = []
    seen_users: dict[str, int] = {}
    seen_numbers: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        where = f"{source} row {i}"
        upn = _text(row.get("userPrincipalName"))
        user_id = by_upn.get((upn or "").lower())
        bad = len(problems)
        if upn is None:
            problems.append(ImportProblem(where, None, "userPrincipalName", "missing"))
        elif user_id is None:
            problems.append(ImportProblem(where, upn, "userPrincipalName", "no such user in the imported tenant"))
        elif user_id in seen_users:
            problems.append(ImportProblem(where, upn, "userPrincipalName", f"listed twice (also row {seen_users[user_id]})"))
        try:
            number = normalize_phone_number(row.get("phoneNumber"))
            if number in seen_numbers:
                problems.append(ImportProblem(where, upn, "phoneNumber", f"{number} is already given to row {seen_numbers[number]}"))
        except ValueError as exc:
            problems.append(ImportProblem(where, upn, "phoneNumber", str(exc)))
            number = None
        if len(problems) > bad:
            continue
        seen_users[user_id] = i
        seen_numbers[number] = i
        staged_rows.append({"user_id": user_id, "phone_number": number, "is_toll_free": is_toll_free(number)})
    if problems:
        raise TenantImportError(problems)
    with store.transaction() as con:
        import_id = _run(con, "next_import_id")[0][0]
        before = _change_count(con)
        with staged(con, staged_phone=staged_rows):
            _run(con, "record_phone_number_changes", {"import_id": import_id})
            _run(con, "replace_phone_numbers")
            _run(con, "insert_phone_numbers")
        _run(con, "record_import", {"import_id": import_id, "kind": "phone_numbers", "source": source,
                                    "user_count": len(staged_rows), "sku_count": 0})
        changes = _change_count(con) - before
    return ImportResult(import_id, len(staged_rows), 0, 0, changes)


def import_phone_numbers_csv(store: Store, path: str | Path) -> ImportResult:
    """Replace every user's phone number from a CSV with columns userPrincipalName, phoneNumber."""
    path = Path(path)
    return import_phone_numbers(store, _read_csv(path), source=path.name)
