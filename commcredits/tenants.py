"""Many tenants in one workbook: one DuckDB file per tenant, and one read-only view across all of them.

An MSP keeps each customer tenant's ledger in its own file (`<folder>/<tenant>.duckdb`). DuckDB locks a
file, not a folder, so a write to one tenant never waits for a write to another. Analysts query all tenants
at once through a connection that ATTACHes every tenant file READ_ONLY and shows each table and view of the
ledger (`call_spend`, `entries`, `lots`, ...) as the UNION ALL of the tenants' copies with a `tenant` column
first. Money columns stay in each tenant's own currency: `tenants` lists it, so group by currency too when
tenants bill in different currencies.

Reading locks writers out of a file while it is attached, so `query_all` attaches, runs one query and closes
(like the dashboard's short reads), and `connect_all` attaches snapshots (copies) for a long notebook session.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from .credits.ledger import Ledger, open_ledger
from .errors import InvalidInput, LedgerBusy
from .store import LOCK_RETRY_SECONDS, Store, _is_lock_error

SUFFIX = ".duckdb"
# A tenant's name is its file name: letters, digits, '.', '-', '_' (a domain such as contoso.onmicrosoft.com or
# a tenant id GUID both fit), not starting with a dot.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def tenant_name(name: str) -> str:
    """`name` if it can name a tenant file; raises InvalidInput (field 'tenant') otherwise."""
    text = str(name).strip()
    if not NAME.fullmatch(text) or text.lower().endswith(SUFFIX):
        raise InvalidInput(
            "tenant",
            f"{name!r} cannot name a tenant: use letters, digits, '.', '-' or '_' "
            "(e.g. contoso.onmicrosoft.com or the tenant id).",
        )
    return text


def tenant_path(folder: str | os.PathLike, name: str) -> Path:
    """The ledger file of tenant `name` in `folder`."""
    return Path(folder) / f"{tenant_name(name)}{SUFFIX}"


def open_tenant(folder: str | os.PathLike, name: str, **options) -> Ledger:
    """Open (or create) tenant `name`'s ledger in `folder`; options as for `open_ledger` (currency, agreement)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return open_ledger(tenant_path(folder, name), **options)


def list_tenants(folder: str | os.PathLike) -> list[str]:
    """The tenants in `folder`, by name."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput("folder", f"{root} is not a folder of tenant ledgers.")
    return sorted(p.name[: -len(SUFFIX)] for p in root.glob(f"*{SUFFIX}") if NAME.fullmatch(p.name[: -len(SUFFIX)]))


# ---- reading every tenant ---------------------------------------------------------------------------------


def _alias(number: int) -> str:
    return f"tenant_{number:05}"


def _attach(con, path: Path, alias: str, deadline: float) -> None:
    """ATTACH `path` READ_ONLY, retrying while a writer holds it (then LedgerBusy)."""
    delay = 0.01
    while True:
        try:
            con.execute(f"ATTACH $1 AS {alias} (READ_ONLY)", [str(path)]).fetchall()
            return
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise LedgerBusy(f"The ledger {path} is busy (being written); nothing was read, try again.") from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.1)


def _union_views(con, names: list[str], used_by: str | None = None) -> None:
    """For every table and view of the first tenant, a view in `memory` over all tenants with `tenant` first
    (only those named in the SQL `used_by`, when given: binding a view over many files costs time)."""
    first = _alias(0)
    objects = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = $1 AND table_schema = 'main' "
            "ORDER BY table_name",
            [first],
        ).fetchall()
    ]
    if used_by is not None:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", used_by.lower()))
        objects = [obj for obj in objects if obj.lower() in words]
    for obj in objects:
        # names come from the ledger's own catalog and from tenant_name(); both are quoted
        parts = [f"SELECT '{name}' AS tenant, * FROM {_alias(i)}.main.\"{obj}\"" for i, name in enumerate(names)]
        con.execute(f'CREATE OR REPLACE VIEW memory.main."{obj}" AS ' + "\nUNION ALL BY NAME\n".join(parts))
    con.execute(
        "CREATE OR REPLACE VIEW memory.main.tenants AS "
        + "\nUNION ALL\n".join(
            f"SELECT '{name}' AS tenant, currency FROM {_alias(i)}.main.tenant" for i, name in enumerate(names)
        )
    )


def _connect_files(
    files: dict[str, Path], busy_timeout: float, used_by: str | None = None
) -> duckdb.DuckDBPyConnection:
    if not files:
        raise InvalidInput("folder", "there are no tenant ledgers to read.")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    deadline = time.monotonic() + busy_timeout
    try:
        for number, path in enumerate(files.values()):
            _attach(con, path, _alias(number), deadline)
        _union_views(con, list(files), used_by)
    except BaseException:
        con.close()
        raise
    return con


def _files(folder, tenants) -> dict[str, Path]:
    names = list_tenants(folder) if tenants is None else [tenant_name(t) for t in tenants]
    return {name: tenant_path(folder, name) for name in names}


def query_all(
    folder: str | os.PathLike, sql: str, params=None, *, tenants=None, busy_timeout: float = LOCK_RETRY_SECONDS
) -> pd.DataFrame:
    """Run one read-only query over every tenant in `folder` (or the named `tenants`) and return a DataFrame.

    Each ledger table and view is there with a `tenant` column, e.g.
    `SELECT tenant, month, sum(amount) FROM call_spend GROUP BY ALL`. The files are attached only for the
    query, so admins' writes wait at most that long."""
    con = _connect_files(_files(folder, tenants), busy_timeout, used_by=sql)
    try:
        return con.sql(sql, params=params or None).to_arrow_table().to_pandas()
    finally:
        con.close()


def connect_all(
    folder: str | os.PathLike,
    *,
    tenants=None,
    snapshots: str | os.PathLike | None = None,
    busy_timeout: float = LOCK_RETRY_SECONDS,
) -> duckdb.DuckDBPyConnection:
    """A read-only connection over snapshots of every tenant (copies taken now, one short read each), for a
    notebook session that stays open without locking admins out. Refresh by connecting again."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = Path(snapshots) if snapshots is not None else Path(tempfile.gettempdir()) / "commcredits-snapshots"
    target = target / f"tenants-{stamp}"
    target.mkdir(parents=True, exist_ok=True)
    copies = {}
    for name, path in _files(folder, tenants).items():
        copies[name] = target / path.name
        Store(path, busy_timeout=busy_timeout).copy_to(copies[name])
    return _connect_files(copies, busy_timeout)
