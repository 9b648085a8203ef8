"""Storing a validated tenant snapshot: stage the rows, then replace the snapshot and append every difference to
the history (`tenant_change`), all in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from ..store import Store, named_sql
from .catalog import SERVICE_PLAN_CAPABILITIES, load_catalog
from .tenant_read import ImportResult

_IMPORT_SQL = named_sql("licensing_import")

_SCHEMAS = {
    "staged_user": pa.schema(
        [
            ("user_id", pa.string()),
            ("user_principal_name", pa.string()),
            ("display_name", pa.string()),
            ("department", pa.string()),
            ("country", pa.string()),
            ("usage_location", pa.string()),
        ]
    ),
    "staged_license": pa.schema(
        [("user_id", pa.string()), ("sku_id", pa.string()), ("disabled_plans", pa.list_(pa.string()))]
    ),
    "staged_sku": pa.schema(
        [
            ("sku_id", pa.string()),
            ("sku_part_number", pa.string()),
            ("enabled_units", pa.int64()),
            ("consumed_units", pa.int64()),
            ("capability_status", pa.string()),
            ("warning_units", pa.int64()),
            ("suspended_units", pa.int64()),
        ]
    ),
    "staged_sku_plan": pa.schema(
        [("sku_id", pa.string()), ("service_plan_id", pa.string()), ("service_plan_name", pa.string())]
    ),
    "staged_phone": pa.schema([("user_id", pa.string()), ("phone_number", pa.string()), ("is_toll_free", pa.bool_())]),
    "staged_catalog_sku": pa.schema(
        [("sku_id", pa.string()), ("sku_part_number", pa.string()), ("product_name", pa.string())]
    ),
    "staged_catalog_plan": pa.schema(
        [
            ("sku_id", pa.string()),
            ("service_plan_id", pa.string()),
            ("service_plan_name", pa.string()),
            ("capability", pa.string()),
        ]
    ),
    "staged_capability": pa.schema([("service_plan_name", pa.string()), ("capability", pa.string())]),
}


@contextmanager
def staged(con, **tables: list[dict] | pa.Table):
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
        "staged_catalog_plan": [
            dict(zip(("sku_id", "service_plan_id", "service_plan_name", "capability"), r)) for r in catalog.plan_rows()
        ],
        "staged_capability": [
            {"service_plan_name": k, "capability": v.value} for k, v in sorted(SERVICE_PLAN_CAPABILITIES.items())
        ],
    }


def refresh_catalog(con) -> None:
    """Replace the catalog tables with the package's catalog (inside the caller's transaction)."""
    with staged(con, **_catalog_rows()):
        for name in (
            "refresh_catalog",
            "refresh_catalog_plans",
            "refresh_capabilities",
            "insert_catalog",
            "insert_catalog_plans",
            "insert_capabilities",
        ):
            _run(con, name)


def _change_count(con) -> int:
    return con.execute("SELECT count(*) FROM tenant_change").fetchall()[0][0]


def store_tenant(
    store: Store,
    users: list[dict],
    licenses: list[dict],
    skus: list[dict] | None,
    sku_plans: list[dict] | None,
    source: str,
) -> ImportResult:
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
            for name in (
                "replace_users",
                "insert_users",
                "replace_licenses",
                "insert_licenses",
                "drop_orphan_phone_numbers",
            ):
                _run(con, name)
            if skus is not None:
                for name in ("replace_skus", "insert_skus", "replace_sku_plans", "insert_sku_plans"):
                    _run(con, name)
        sku_count = con.execute("SELECT count(*) FROM tenant_sku").fetchall()[0][0]
        _run(
            con,
            "record_import",
            {
                "import_id": import_id,
                "kind": "tenant",
                "source": source,
                "user_count": len(users),
                "sku_count": sku_count,
            },
        )
        changes = _change_count(con) - before
    return ImportResult(import_id, len(users), len(licenses), sku_count, changes)


def store_phone_numbers(store: Store, staged_rows: list[dict], source: str) -> ImportResult:
    """Replace every user's phone number with `staged_rows` (user_id, phone_number, is_toll_free)."""
    with store.transaction() as con:
        import_id = _run(con, "next_import_id")[0][0]
        before = _change_count(con)
        with staged(con, staged_phone=staged_rows):
            _run(con, "record_phone_number_changes", {"import_id": import_id})
            _run(con, "replace_phone_numbers")
            _run(con, "insert_phone_numbers")
        _run(
            con,
            "record_import",
            {
                "import_id": import_id,
                "kind": "phone_numbers",
                "source": source,
                "user_count": len(staged_rows),
                "sku_count": 0,
            },
        )
        changes = _change_count(con) - before
    return ImportResult(import_id, len(staged_rows), 0, 0, changes)


def current_sku_ids(store: Store) -> dict[str, str]:
    return dict(store.query("SELECT lower(sku_part_number), sku_id FROM tenant_sku"))
