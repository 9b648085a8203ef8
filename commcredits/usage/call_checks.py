"""The checked insert: each kind of call log source as rows of text, checked and typed in one pass
(sql/usage_import.sql `checked`), unreadable rows quarantined with the reason and new rows inserted once per
row id. Every function here takes a connection inside the importer's one transaction (call_import.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..store import in_any_order, named_sql
from .call_files import EXPECTED_FILES, MAX_JSON_OBJECT_BYTES, head_text

SQL = named_sql("usage_import")

# Our column <- Graph pstnCallLogRow field.
GRAPH_FIELDS = {
    "usage_id": "id",
    "call_id": "callId",
    "user_id": "userId",
    "user_principal_name": "userPrincipalName",
    "user_display_name": "userDisplayName",
    "start_at": "startDateTime",
    "end_at": "endDateTime",
    "duration_seconds": "duration",
    "charge": "charge",
    "connection_charge": "connectionCharge",
    "currency": "currency",
    "call_type": "callType",
    "callee_number": "calleeNumber",
    "caller_number": "callerNumber",
    "destination_context": "destinationContext",
    "destination_name": "destinationName",
    "conference_id": "conferenceId",
    "license_capability": "licenseCapability",
    "usage_country_code": "usageCountryCode",
    "tenant_country_code": "tenantCountryCode",
    "operator": "operator",  # "Microsoft", or the Operator Connect carrier who bills the call itself
    "inventory_type": "inventoryType",  # the user's number type, e.g. a service or toll-free number
    "call_duration_source": "callDurationSource",
}

# Our column <- Teams admin center "PSTN usage" CSV column (Calling Plans export).
CSV_COLUMNS = {
    "usage_id": "UsageId",
    "call_id": "Call ID",
    "user_id": "AAD ObjectId",
    "user_principal_name": "UPN",
    "user_display_name": "User Display Name",
    "start_at": "Start Time",
    "end_at": "End Time",
    "duration_seconds": "Duration Seconds",
    "charge": "Charge",
    "connection_charge": "Connection Fee",
    "currency": "Currency",
    "call_type": "Call Type",
    "callee_number": "Destination Number",
    "caller_number": "Caller ID",
    "destination_context": "Domestic/International",
    "destination_name": "Destination Dialed",
    "conference_id": "Conference ID",
    "license_capability": "Capability",
    "usage_country_code": "User Location",
    "tenant_country_code": None,
    "operator": None,  # the Calling Plans export has no operator column: Microsoft is the carrier there
    "inventory_type": "Number Type",
    "call_duration_source": None,
}

# Our column <- the admin center's Direct Routing export (`DirectRouting.calls.*.csv` in the Calls.Export zip).
# Microsoft documents Graph's directRoutingLogRow fields, not this file's headers, so headers are compared without
# case, spaces or punctuation and either spelling is read ("Start Time" or startDateTime). Direct Routing calls are
# carried and billed by the customer's own carrier: never drawn from Communication Credits.
DIRECT_ROUTING_COLUMNS = {
    "usage_id": ("id", "usageid", "correlationid"),
    "user_id": ("userid", "aadobjectid"),
    "user_principal_name": ("userprincipalname", "upn", "sipaddress"),
    "user_display_name": ("userdisplayname", "displayname"),
    "start_at": ("startdatetime", "starttime"),
    "end_at": ("enddatetime", "endtime"),
    "duration_seconds": ("duration", "durationseconds"),
    "call_type": ("calltype",),
    "callee_number": ("calleenumber",),
    "caller_number": ("callernumber",),
}
DIRECT_ROUTING_MARKS = ("trunkfullyqualifieddomainname", "sbcfqdn", "finalsipcode", "mediabypassenabled")
DIRECT_ROUTING = "Direct Routing"

COLUMNS = list(GRAPH_FIELDS)

# The rows of a Graph response as JSON texts: its `value` array, a bare array of rows, or itself as one row
# (one parse of the document; a `value` that is not an array leaves the document as one row).
RESPONSE_ROWS = """CASE WHEN starts_with(ltrim({doc}), '[') THEN from_json({doc}, '["json"]')::VARCHAR[]
         ELSE coalesce(from_json({doc}, '{{"value": ["json"]}}').value::VARCHAR[], [{doc}::VARCHAR]) END"""
# Marks a JSON line holding a whole Graph response: its rows are checked in a second step (_expand_responses).
RESPONSE_LINE = "graph response on one line"


@dataclass(frozen=True)
class ImportReport:
    """What one import did: rows imported, rows already known (or repeated), rows quarantined."""

    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    files: int = 0

    def __add__(self, other: ImportReport) -> ImportReport:
        return ImportReport(
            self.imported + other.imported,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
            self.files + other.files,
        )

    def as_files(self, files: int) -> ImportReport:
        """The same rows, counted as `files` files (a zip counts once, however many members it holds)."""
        return ImportReport(self.imported, self.duplicates, self.quarantined, files)


def run_checked(
    con,
    source: str,
    source_sql: str | None,
    params: list,
    raw: str = "raw",
    fixup=None,
    quick_sql: str | None = None,
    quick_params: list | None = None,
) -> ImportReport | None:
    """Check and type the rows of `source_sql` in one pass, quarantine unreadable rows and insert new ones;
    count what happened. `fixup(con)` may amend _call_checked before the inserts.

    `quick_sql` (with `quick_params`, else `params`), when given, is tried first: the same rows read in parallel
    without their line numbers or raw text. Files whose rows are all readable and new need neither; anything else
    (a row to quarantine, a row id seen before or twice) is staged again from `source_sql`, so what is recorded
    is the same either way. Without `source_sql` nothing is recorded then, and the answer is None."""
    now = datetime.now(UTC)
    con.execute(SQL["trim_macro"])
    con.execute(SQL["call_ts_macro"])
    if not con.execute(SQL["id_keys_current"]).fetchone()[0]:  # known rows are found by these keys
        con.execute(SQL["rewrite_id_keys"])
    all_new = quick_sql is not None and _staged_quickly(con, quick_sql, quick_params or params)
    if not all_new and source_sql is None:
        _drop_staged(con)
        return None
    if not all_new:
        _stage(con, source_sql, params, raw, fixup)
    (total, bad) = con.execute(SQL["checked_counts"]).fetchall()[0]
    if not all_new:  # else none to quarantine, none reported before
        con.execute(SQL["insert_quarantine"], [now]).fetchall()
        con.execute(SQL["insert_rereports"], [now]).fetchall()
    insert = SQL["insert_calls"].format(new_only="" if all_new else SQL["new_only"])
    (imported,) = con.execute(insert, [source, now]).fetchall()[0]
    _drop_staged(con)
    return ImportReport(imported, total - bad - imported, bad, 1)


def _drop_staged(con) -> None:
    for table in ("_call_checked", "_call_known", "_call_repeated"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _stage(con, source_sql: str, params: list, raw: str, fixup=None) -> None:
    """_call_checked (every row, checked and typed), and the rows of it the ledger or the import already holds."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _call_checked AS " + SQL["checked"].format(source=source_sql, raw=raw), params
    )
    if fixup is not None:
        fixup(con)
    con.execute(SQL["known_rows"])
    con.execute(SQL["repeated_in_import"])


def _staged_quickly(con, quick_sql: str, params: list) -> bool:
    """Stage from `quick_sql`; False when a row needs its line number or raw text (see run_checked). The rows are
    staged, and then imported, in whatever order DuckDB reads them (a 1M-row file 0.2 s faster): they carry no line
    numbers, and nothing reads the calls in the order they were stored."""
    with in_any_order(con):
        _stage(con, quick_sql, params, raw="NULL")
    (clean,) = con.execute(SQL["all_new_and_readable"]).fetchall()[0]
    return clean


def _json_rows(rows_sql: str) -> str:
    """Text fields of JSON rows from a query yielding (source_file, row_number, seq, raw JSON text, pre_reason)."""
    paths = ", ".join(f"'$.\"{field}\"'" for field in GRAPH_FIELDS.values())
    fields = ", ".join(f"f[{i + 1}] AS {col}" for i, col in enumerate(GRAPH_FIELDS))
    return SQL["json_rows"].format(rows=rows_sql, paths=paths, fields=fields)


def import_graph_pages(con, names: list[str], labels: list[str]) -> ImportReport:
    """Graph response files (DuckDB reads each document once). Raises duckdb.Error if a file is not readable
    JSON: the transaction is then aborted and the caller decides what to do with the files."""
    rows = SQL["graph_pages_source"].format(
        response_rows=RESPONSE_ROWS.format(doc="json"), max_object=MAX_JSON_OBJECT_BYTES
    )
    return run_checked(con, "graph", _json_rows(rows), [names, labels]).as_files(len(names))


def import_json_lines(con, files: list[Path], labels: list[str]) -> ImportReport:
    """JSON lines files (labels: how each is shown), in this order: read together in parallel when every row of
    them is readable and new, else each file on its own (line numbers, raw text and responses on one line)."""
    quick = SQL["json_lines_quick_source"].format(
        columns=", ".join(f"'{field}': 'VARCHAR'" for field in GRAPH_FIELDS.values()),
        fields=", ".join(f'"{field}" AS {col}' for col, field in GRAPH_FIELDS.items()),
        response_line=RESPONSE_LINE,
    )
    names = [str(file) for file in files]
    if len(files) > 1:
        together = run_checked(con, "graph", None, [labels, names], quick_sql=quick)
        if together is not None:
            return together.as_files(len(files))
    rows = _json_rows(
        SQL["json_lines_source"].format(
            response_line=RESPONSE_LINE, record_separator="\x1e", max_object=MAX_JSON_OBJECT_BYTES
        )
    )
    return sum(
        (
            run_checked(
                con,
                "graph",
                rows,
                [label, name],
                fixup=_expand_responses,
                quick_sql=quick,
                quick_params=[[label], [name]],
            )
            for name, label in zip(names, labels)
        ),
        ImportReport(),
    )


def _expand_responses(con) -> None:
    """Replace each response line set aside by import_json_lines with its rows, checked the same way."""
    (responses,) = con.execute(f"SELECT count(*) FROM _call_checked WHERE reason = '{RESPONSE_LINE}'").fetchall()[0]
    if not responses:
        return
    rows = _json_rows(
        SQL["response_rows_source"].format(response_rows=RESPONSE_ROWS.format(doc="raw"), response_line=RESPONSE_LINE)
    )
    con.execute("INSERT INTO _call_checked BY NAME " + SQL["checked"].format(source=rows, raw="raw"))
    con.execute(f"DELETE FROM _call_checked WHERE reason = '{RESPONSE_LINE}'")


def quarantine_file(con, file: Path, reason: str, *, label: str | None = None) -> ImportReport:
    """Quarantine a whole file as one row (row number NULL) with the reason and its first 10,000 characters."""
    raw = head_text(file)
    key = f"{label or file}\n{reason}\n{raw}"
    con.execute(SQL["quarantine_file"], [key, label or str(file), raw, reason, datetime.now(UTC)]).fetchall()
    return ImportReport(0, 0, 1, 1)


def import_csv(con, file: Path, label: str) -> ImportReport:
    """A Teams admin center export: the Calling Plans PSTN usage CSV or the Direct Routing CSV; a file that is
    neither is quarantined whole."""
    with file.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    calling_plans = _calling_plans_fields(header)
    fields = calling_plans or _direct_routing_fields(header)
    if fields is None:
        return quarantine_file(
            con,
            file,
            "not a Teams admin center PSTN usage export: no UsageId column, and not "
            f"its Direct Routing file. The Usage page reads {EXPECTED_FILES}.",
            label=label,
        )
    source = "tac_csv" if calling_plans else "tac_direct_routing"
    _drop_rejects(con)
    report = run_checked(
        con,
        source,
        SQL["csv_source"].format(fields=fields),
        [label, str(file), {name: "VARCHAR" for name in header}],
        raw="to_json(rec)::VARCHAR",
        fixup=lambda con: _add_csv_rejects(con, label),
    )
    _drop_rejects(con)
    return report


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _calling_plans_fields(header: list[str]) -> str | None:
    present = {name.strip(): name for name in header}
    if "UsageId" not in present:
        return None
    return ", ".join(
        f"{_quoted(present[csv])} AS {col}" if csv in present else f"NULL::VARCHAR AS {col}"
        for col, csv in CSV_COLUMNS.items()
    )


def _direct_routing_fields(header: list[str]) -> str | None:
    """Our columns from a Direct Routing export's header; its carrier (the SBC's name when given) is the operator."""
    present = {"".join(ch for ch in name.lower() if ch.isalnum()): name for name in header}
    if not any(mark in present for mark in DIRECT_ROUTING_MARKS):
        return None
    found = {
        col: next((present[c] for c in candidates if c in present), None)
        for col, candidates in DIRECT_ROUTING_COLUMNS.items()
    }
    fields = [
        f"{_quoted(found[col])} AS {col}" if found.get(col) else f"NULL::VARCHAR AS {col}"
        for col in GRAPH_FIELDS
        if col != "operator"
    ]
    sbc = present.get("trunkfullyqualifieddomainname") or present.get("sbcfqdn")
    carrier = f"'{DIRECT_ROUTING} (' || nullif(trim({_quoted(sbc)}), '') || ')'" if sbc else "NULL"
    return ", ".join(fields + [f"coalesce({carrier}, '{DIRECT_ROUTING}') AS operator"])


def _drop_rejects(con) -> None:
    con.execute("DROP TABLE IF EXISTS _csv_rejects")
    con.execute("DROP TABLE IF EXISTS _csv_scans")


def _add_csv_rejects(con, label: str) -> None:
    """Lines the CSV reader rejected join the checked rows as quarantined, each at its own line number."""
    (rejected,) = con.execute("SELECT count(DISTINCT line) FROM _csv_rejects").fetchall()[0]
    if not rejected:
        return
    con.execute(SQL["renumber_after_rejects"])
    con.execute(SQL["add_rejects"], [label])


def import_rows(con, rows) -> ImportReport:
    """Rows in memory: a list of dicts or a DataFrame with Graph field names (or our column names)."""
    con.register("_call_rows", _rows_table(rows))
    try:
        return run_checked(con, "rows", SQL["rows_source"], [], raw="to_json(rec)::VARCHAR")
    finally:
        con.unregister("_call_rows")


def _rows_table(rows) -> pa.Table:
    """Rows in memory (dicts or a DataFrame with Graph names) as an all-text Arrow table."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(rows)
    columns = {}
    for col, field in GRAPH_FIELDS.items():
        name = field if field in frame.columns else col if col in frame.columns else None
        if name is None:
            columns[col] = pa.nulls(len(frame), pa.string())
            continue
        series = frame[name]
        if pd.api.types.is_datetime64_any_dtype(series):
            text = [None if pd.isna(v) else pd.Timestamp(v).isoformat() for v in series.tolist()]
        else:
            text = [_as_text(v) for v in series.tolist()]
        columns[col] = pa.array(text, pa.string())
    return pa.table(columns)


def _as_text(value) -> str | None:
    if value is None or (not isinstance(value, (str, list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
