"""Import PSTN call logs: Graph `getPstnCalls` responses and the Teams admin center PSTN usage CSV export.

Sources: one Graph response (`{"value": [...], "@odata.nextLink": ...}`), a folder of such pages, JSON lines
(one row or one page per line), a Teams admin center export (`Calls.Export.*.zip` or the CSV inside), or rows
already in memory (a list of dicts or a DataFrame with Graph field names). Every row is keyed on its row
`id` (CSV `UsageId`), never on `callId`: importing overlapping files imports each row once. Rows that
cannot be read go to `pstn_call_quarantine` with the reason; the rest imports. Files are read by DuckDB
(streaming) one file per transaction, with a progress bar over files.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from ..errors import InvalidInput
from ..store import Store

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

COLUMNS = list(GRAPH_FIELDS)
# RFC 4180, stated rather than sniffed: a ragged line must not make the sniffer pick another delimiter.
CSV_DIALECT = """delim = ',', quote = '"', escape = '"'"""

# Why a staged row cannot be imported (NULL: it can). Every field is still text here.
CHECK_SQL = """
SELECT s.*,
    CASE
        WHEN s.pre_reason IS NOT NULL THEN s.pre_reason
        WHEN s.usage_id IS NULL OR trim(s.usage_id) = '' THEN 'missing row id (Graph id / CSV UsageId)'
        WHEN s.start_at IS NULL OR trim(s.start_at) = '' THEN 'missing start time'
        WHEN {ts}(s.start_at) IS NULL THEN 'start time is not a date and time: ' || s.start_at
        WHEN {ts}(s.start_at) > now() + INTERVAL 1 DAY
            THEN 'start time is more than a day in the future: ' || s.start_at
        WHEN nullif(trim(s.end_at), '') IS NOT NULL AND {ts}(s.end_at) IS NULL
            THEN 'end time is not a date and time: ' || s.end_at
        WHEN nullif(trim(s.duration_seconds), '') IS NOT NULL
             AND TRY_CAST(s.duration_seconds AS DECIMAL(18, 3)) IS NULL
            THEN 'duration is not a number of seconds: ' || s.duration_seconds
        WHEN TRY_CAST(s.duration_seconds AS DECIMAL(18, 3)) < 0 THEN 'negative duration: ' || s.duration_seconds
        WHEN nullif(trim(s.charge), '') IS NOT NULL AND TRY_CAST(s.charge AS DECIMAL(18, 6)) IS NULL
            THEN 'charge is not a number: ' || s.charge
        WHEN TRY_CAST(s.charge AS DECIMAL(18, 6)) < 0 THEN 'negative charge: ' || s.charge
        WHEN nullif(trim(s.connection_charge), '') IS NOT NULL
             AND TRY_CAST(s.connection_charge AS DECIMAL(18, 6)) IS NULL
            THEN 'connection charge is not a number: ' || s.connection_charge
        WHEN TRY_CAST(s.charge AS DECIMAL(18, 6)) > 0
             AND NOT regexp_full_match(coalesce(trim(s.currency), ''), '[A-Za-z]{{3}}')
            THEN 'charge without a three-letter currency'
    END AS reason
FROM _call_stage s
"""

# Text -> TIMESTAMPTZ: ISO 8601 (Graph, naive = UTC) or the US format some admin center exports use.
TS_MACRO = """
CREATE OR REPLACE TEMP MACRO _call_ts(x) AS COALESCE(
    TRY_CAST(nullif(trim(x), '') AS TIMESTAMPTZ),
    try_strptime(trim(x), '%m/%d/%Y %I:%M:%S %p')::TIMESTAMPTZ,
    try_strptime(trim(x), '%m/%d/%Y %H:%M:%S')::TIMESTAMPTZ)
"""

INSERT_QUARANTINE = """
INSERT INTO pstn_call_quarantine
SELECT DISTINCT ON (md5(c.raw)) md5(c.raw), c.source_file, c.row_number, c.raw, c.reason, $1
FROM _call_checked c
WHERE c.reason IS NOT NULL
  AND md5(c.raw) NOT IN (SELECT row_hash FROM pstn_call_quarantine)
"""

INSERT_CALLS = """
INSERT INTO pstn_call
SELECT trim(usage_id), nullif(call_id, ''), nullif(user_id, ''), nullif(user_principal_name, ''),
       nullif(user_display_name, ''), _call_ts(start_at), _call_ts(end_at),
       round(TRY_CAST(duration_seconds AS DECIMAL(18, 3)))::BIGINT,
       TRY_CAST(charge AS DECIMAL(18, 6)), TRY_CAST(connection_charge AS DECIMAL(18, 6)),
       upper(nullif(trim(currency), '')), nullif(call_type, ''), nullif(callee_number, ''),
       nullif(caller_number, ''), nullif(destination_context, ''), nullif(destination_name, ''),
       nullif(conference_id, ''), nullif(trim(license_capability), ''),
       upper(nullif(trim(usage_country_code), '')), upper(nullif(trim(tenant_country_code), '')),
       $1, source_file, $2,
       nullif(trim(operator), ''), nullif(trim(inventory_type), ''), lower(nullif(trim(call_duration_source), ''))
FROM _call_checked c
WHERE reason IS NULL
  AND trim(usage_id) NOT IN (SELECT usage_id FROM pstn_call)
QUALIFY row_number() OVER (PARTITION BY trim(usage_id) ORDER BY row_number) = 1
"""


@dataclass(frozen=True)
class ImportReport:
    """What one import did: rows imported, rows already known (or repeated), rows quarantined."""

    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    files: int = 0

    def __add__(self, other: "ImportReport") -> "ImportReport":
        return ImportReport(
            self.imported + other.imported,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
            self.files + other.files,
        )


CALL_LOG_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".csv", ".zip"})
EXPECTED_FILES = ("a Graph getPstnCalls response (.json or .jsonl) or the Teams admin center PSTN usage export "
                  "(.csv, or the Calls.Export zip)")

# Limits on what one file may make us read (docs/reliability.md): a file (or everything inside one zip) up to
# 1 GiB of text, a zip member at most 100 times its compressed size (real CSV exports compress about 10x;
# a "zip bomb" compresses thousands of times), one JSON line or page up to 256 MiB.
MAX_FILE_BYTES = 1 << 30
MAX_ZIP_RATIO = 100
MAX_JSON_OBJECT_BYTES = 256 << 20
_CHUNK = 1 << 20


class UnreadableFile(Exception):
    """A whole file cannot be imported; `reason` says why in words for the admin. It is quarantined."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def store_of(target) -> Store:
    """The Store behind a Ledger, a Store, or a database path."""
    if isinstance(target, Store):
        return target
    if hasattr(target, "store") and isinstance(target.store, Store):
        return target.store
    if isinstance(target, (str, os.PathLike)):
        return Store(target)
    raise InvalidInput("target", f"{target!r} is not a ledger, a store or a database path.")


def import_pstn_calls(target, source, *, progress: bool | None = None) -> ImportReport:
    """Import PSTN call log rows from `source` into the ledger's database; return an ImportReport.

    `source`: a Graph response file, a folder of pages, a JSON lines file, a Teams admin center export
    (zip or CSV), a list of dicts or a DataFrame (Graph field names). Raises InvalidInput when the source
    does not exist or is of no known kind; unreadable rows never raise, they are quarantined."""
    store = store_of(target)
    if isinstance(source, pd.DataFrame) or (isinstance(source, list) and all(isinstance(r, dict) for r in source)):
        return _import_rows(store, source)
    path = Path(source)
    if not path.exists():
        raise InvalidInput("source", f"{path} does not exist; give a Graph JSON file, a folder of pages or a CSV/zip export.")
    files = call_log_files(path)
    if not files:
        what = f"{path.name} is not a call log file" if path.is_file() else f"the folder {path.name} has no call log files"
        raise InvalidInput("source", f"{what}: give {EXPECTED_FILES}.")
    report = ImportReport()
    bar = tqdm(files, desc="Importing call logs", unit="file", disable=_quiet(progress, len(files)))
    for file in bar:
        report += _import_file(store, file)
        bar.set_postfix(imported=report.imported, quarantined=report.quarantined)
    return report


def call_log_files(path: Path) -> list[Path]:
    """The files `import_pstn_calls` reads for `path` (a file, or a folder at any depth), in its order."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [f for f in files if f.suffix.lower() in CALL_LOG_SUFFIXES]


def _quiet(progress: bool | None, files: int) -> bool | None:
    if progress is None:
        return None if files > 3 else True  # None: tqdm decides (off when not a terminal or notebook)
    return not progress


def _import_file(store: Store, file: Path, label: str | None = None) -> ImportReport:
    """Import one file; a file that cannot be read as a whole is quarantined as one row with the reason."""
    label = label or str(file)
    suffix = file.suffix.lower()
    try:
        if suffix == ".zip":
            return _import_zip(store, file)
        with tempfile.TemporaryDirectory() as tmp:
            readable = utf8_file(file, Path(tmp))
            if suffix == ".csv":
                return _import_csv(store, readable, label)
            with readable.open("rb") as handle:
                _refuse_deep_nesting(handle.read(_CHUNK))
            if suffix in {".jsonl", ".ndjson"} or not _is_single_json_document(readable):
                return _import_json_lines(store, readable, label)
            return _import_graph_page(store, readable, label)
    except UnreadableFile as refused:
        with store.transaction() as con:
            return _quarantine_file(con, file, refused.reason, label=label)


def utf8_file(file: Path, folder: Path) -> Path:
    """`file` as UTF-8 without a byte-order mark: the file itself when it already is, else a converted copy
    in `folder`. Reads UTF-8 (with or without BOM), UTF-16 (with BOM, as Windows tools write it, or without
    BOM when every other byte is zero) and falls back to Windows-1252 / Latin-1 for anything else.
    Raises UnreadableFile for files over MAX_FILE_BYTES."""
    size = file.stat().st_size
    if size == 0:
        raise UnreadableFile("the file is empty; export the call log again.")
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"the file is {size / (1 << 20):,.0f} MiB; split it into files under "
                             f"{MAX_FILE_BYTES >> 20:,} MiB (export a shorter date range).")
    with file.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(codecs.BOM_UTF8):
        return _transcode(file, folder, "utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _transcode(file, folder, "utf-16")
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return _transcode(file, folder, "utf-16-le")
    if _is_utf8(file):
        return file
    try:
        return _transcode(file, folder, "cp1252")
    except UnicodeDecodeError:  # bytes Windows-1252 leaves undefined: Latin-1 maps every byte
        return _transcode(file, folder, "latin-1")


def _is_utf8(file: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(file: Path, folder: Path, encoding: str) -> Path:
    target = folder / f"utf8-{file.name}"
    try:
        with file.open("r", encoding=encoding, newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
            shutil.copyfileobj(src, dst, _CHUNK)
    except UnicodeDecodeError:
        if encoding == "cp1252":
            raise
        raise UnreadableFile(f"the file claims to be {encoding.upper()} text but is not; save it again as UTF-8.") from None
    return target


MAX_JSON_DEPTH = 1000  # Graph rows are flat objects inside {"value": [...]}: depth 3, or a few more


def _refuse_deep_nesting(head: bytes) -> None:
    """Refuse JSON whose start nests deeper than MAX_JSON_DEPTH (brackets inside strings count too, which
    only matters for text of hundreds of brackets)."""
    depth = deepest = 0
    for byte in head:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise UnreadableFile(f"the JSON is nested more than {MAX_JSON_DEPTH:,} levels deep; a call log is "
                             "flat rows inside {\"value\": [...]}.")


def _is_single_json_document(file: Path) -> bool:
    """True for a JSON document (a Graph response, pretty-printed or on one line). A file of several
    lines whose first line is complete JSON is read as JSON lines."""
    with file.open("rb") as handle:
        first_line = handle.readline(1 << 24).strip()
        if not handle.read(1 << 16).strip():
            return True  # one line: a whole Graph page however long, not JSON lines
    if not first_line:
        return True
    try:
        json.loads(first_line)
    except RecursionError:
        raise UnreadableFile("the JSON is nested too deeply to be a call log (Graph rows are flat objects).") from None
    except ValueError:
        return True
    return False


def _run_checked(con, source: str, reports_file: str) -> ImportReport:
    """From _call_stage, quarantine unreadable rows and insert new ones; count what happened."""
    now = datetime.now(timezone.utc)
    con.execute(TS_MACRO)
    con.execute("CREATE OR REPLACE TEMP TABLE _call_checked AS " + CHECK_SQL.format(ts="_call_ts"))
    (total, bad) = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE reason IS NOT NULL) FROM _call_checked"
    ).fetchall()[0]
    con.execute(INSERT_QUARANTINE, [now]).fetchall()
    (imported,) = con.execute(INSERT_CALLS, [source, now]).fetchall()[0]
    con.execute("DROP TABLE IF EXISTS _call_checked")
    con.execute("DROP TABLE IF EXISTS _call_stage")
    return ImportReport(imported, total - bad - imported, bad, 1)


def _stage_json_objects(objects_sql: str) -> str:
    """Stage rows from a query yielding (source_file, row_number, j JSON-or-NULL, raw, pre_reason).
    All fields come from one json_extract_string with a list of paths: each row is parsed once."""
    paths = ", ".join(f"'$.\"{field}\"'" for field in GRAPH_FIELDS.values())
    fields = ", ".join(f"f[{i + 1}] AS {col}" for i, col in enumerate(GRAPH_FIELDS))
    return f"""
    CREATE OR REPLACE TEMP TABLE _call_stage AS
    SELECT source_file, row_number, raw, pre_reason, {fields}
    FROM (
        SELECT source_file, row_number, raw,
               CASE WHEN pre_reason IS NOT NULL THEN pre_reason
                    WHEN json_type(j) <> 'OBJECT' THEN 'not a JSON object' END AS pre_reason,
               json_extract_string(CASE WHEN json_type(j) = 'OBJECT' THEN j END, [{paths}]) AS f
        FROM ({objects_sql})
    )
    """


def _import_graph_page(store: Store, file: Path, label: str) -> ImportReport:
    with store.transaction() as con:
        try:
            con.execute(
                _stage_json_objects(
                    f"""
                    SELECT $1 AS source_file, generate_subscripts(rows, 1) AS row_number,
                           unnest(rows) AS j, j::VARCHAR AS raw, NULL AS pre_reason
                    FROM (SELECT CASE WHEN json_type(json, '$.value') = 'ARRAY'
                                      THEN from_json(json -> 'value', '["json"]')
                                      WHEN json_type(json) = 'ARRAY' THEN from_json(json, '["json"]')
                                      ELSE [json] END AS rows
                          FROM read_json_objects($2, format = 'unstructured',
                                                 maximum_object_size = {MAX_JSON_OBJECT_BYTES}))
                    """
                ),
                [label, str(file)],
            )
        except duckdb.Error as exc:  # the transaction is aborted: quarantine in a new one (_import_file)
            raise UnreadableFile(_json_reason(exc)) from None
        return _run_checked(con, "graph", label)


def _json_reason(exc: Exception) -> str:
    text = str(exc)
    if "maximum_object_size" in text or "maximum object size" in text:
        return f"one JSON object is larger than {MAX_JSON_OBJECT_BYTES >> 20} MiB; export smaller pages."
    if "depth" in text.lower() or "nest" in text.lower():
        return "the JSON is nested too deeply to be a call log (Graph rows are flat objects)."
    first = text.splitlines()[0] if text else "unknown error"
    return f"not a complete JSON document (cut off or damaged?): {first[:200]}"


def _import_json_lines(store: Store, file: Path, label: str) -> ImportReport:
    with store.transaction() as con:
        con.execute(
            _stage_json_objects(
                f"""
                SELECT $1 AS source_file, line_no AS row_number,
                       unnest(CASE WHEN doc IS NULL THEN [NULL::JSON]
                                   WHEN json_type(doc, '$.value') = 'ARRAY' THEN from_json(doc -> 'value', '["json"]')
                                   ELSE [doc] END) AS j,
                       coalesce(j::VARCHAR, line) AS raw,
                       CASE WHEN doc IS NULL THEN 'line ' || line_no || ' is not valid JSON' END AS pre_reason
                FROM (SELECT line, TRY_CAST(line AS JSON) AS doc, row_number() OVER () AS line_no
                      FROM read_csv($2, columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x1e',
                                    quote = '', escape = '', auto_detect = false, strict_mode = false,
                                    max_line_size = {MAX_JSON_OBJECT_BYTES}))
                WHERE trim(line) <> ''
                """
            ),
            [label, str(file)],
        )
        return _run_checked(con, "graph", label)


def _quarantine_file(con, file: Path, reason: str, *, label: str | None = None) -> ImportReport:
    """Quarantine a whole file as one row (row number NULL) with the reason; raw keeps its first 10,000
    characters (none for a zip, which is not text)."""
    raw = "" if file.suffix.lower() == ".zip" else _head_text(file)
    key = f"{label or file}\n{reason}\n{raw}"
    con.execute(
        "INSERT INTO pstn_call_quarantine SELECT md5($1), $2, NULL, $3, $4, $5 "
        "WHERE md5($1) NOT IN (SELECT row_hash FROM pstn_call_quarantine)",
        [key, label or str(file), raw, reason, datetime.now(timezone.utc)],
    ).fetchall()
    return ImportReport(0, 0, 1, 1)


def _head_text(file: Path) -> str:
    with file.open("rb") as handle:
        return handle.read(10000).decode("utf-8", errors="replace")


def _import_zip(store: Store, file: Path) -> ImportReport:
    """The CSV files inside a Teams admin center export, each checked against the size and ratio limits
    before and while it is unpacked."""
    report = ImportReport()
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError):
        raise UnreadableFile(f"{file.name} is not a zip archive; give the Calls.Export zip as downloaded, "
                             "or the CSV inside it.") from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
        if not members:
            raise UnreadableFile(f"{file.name} has no CSV file inside; expected the Teams admin center PSTN usage export.")
        _check_zip_sizes(members)
        for number, member in enumerate(members):
            target = Path(tmp) / f"{number}-{Path(member.filename).name}"
            _unpack(archive, member, target)
            report += _import_file(store, target, f"{file}!{member.filename}")
            target.unlink()
    return ImportReport(report.imported, report.duplicates, report.quarantined, 1)


def _check_zip_sizes(members: list[zipfile.ZipInfo]) -> None:
    total = sum(m.file_size for m in members)
    if total > MAX_FILE_BYTES:
        raise UnreadableFile(f"the zip expands to {total / (1 << 20):,.0f} MiB; the limit is {MAX_FILE_BYTES >> 20:,} MiB.")
    for m in members:
        if m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1) and m.file_size > _CHUNK:
            raise UnreadableFile(f"{m.filename} expands {m.file_size // max(m.compress_size, 1):,} times its zipped "
                                 f"size (more than {MAX_ZIP_RATIO}x is refused as a zip bomb).")


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member out, counting bytes: the sizes in the zip's directory may lie."""
    limit = min(MAX_FILE_BYTES, max(MAX_ZIP_RATIO * max(member.compress_size, 1), _CHUNK))
    written = 0
    try:
        with archive.open(member) as src, target.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UnreadableFile(f"{member.filename} expands beyond {limit / (1 << 20):,.0f} MiB from "
                                         f"{member.compress_size:,} bytes; refused as a zip bomb.")
                dst.write(chunk)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{member.filename} cannot be unpacked ({exc}); download the export again.") from None


def _import_csv(store: Store, file: Path, label: str) -> ImportReport:
    with store.transaction() as con:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        present = {name.strip(): name for name in header}
        if "UsageId" not in present:
            return _quarantine_file(con, file, "not a Teams admin center PSTN usage export: no UsageId column. "
                                    f"The Usage page reads {EXPECTED_FILES}.", label=label)
        fields = ", ".join(
            f'"{present[csv]}" AS {col}' if csv in present else f"NULL::VARCHAR AS {col}"
            for col, csv in CSV_COLUMNS.items()
        )
        con.execute("DROP TABLE IF EXISTS _csv_rejects")
        con.execute("DROP TABLE IF EXISTS _csv_scans")
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _call_stage AS
            SELECT $1 AS source_file, row_number() OVER () + 1 AS row_number, to_json(t)::VARCHAR AS raw,
                   NULL::VARCHAR AS pre_reason, {fields}
            FROM read_csv($2, columns = $3, header = true, auto_detect = false, {CSV_DIALECT},
                          ignore_errors = true, store_rejects = true,
                          rejects_table = '_csv_rejects', rejects_scan = '_csv_scans') t
            """,
            [label, str(file), {name: "VARCHAR" for name in header}],
        )
        # row_number above counts accepted lines only; shift each past the rejected lines before it, so
        # people find the row at the line number shown (reject j at line r_j precedes r_j - j - 1 rows)
        con.execute(
            """
            UPDATE _call_stage s SET row_number = s.row_number + (
                SELECT count(*) FROM (SELECT DISTINCT line FROM _csv_rejects) r
                WHERE r.line - (SELECT count(DISTINCT r2.line) FROM _csv_rejects r2 WHERE r2.line <= r.line) - 1
                      < s.row_number - 1)
            """
        )
        con.execute(
            """
            INSERT INTO _call_stage (source_file, row_number, raw, pre_reason)
            SELECT DISTINCT ON (line) $1, line, csv_line, 'CSV line ' || line || ': ' || error_message
            FROM _csv_rejects
            """,
            [label],
        )
        report = _run_checked(con, "tac_csv", label)
        con.execute("DROP TABLE IF EXISTS _csv_rejects")
        con.execute("DROP TABLE IF EXISTS _csv_scans")
        return report


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


def _import_rows(store: Store, rows) -> ImportReport:
    table = _rows_table(rows)
    with store.transaction() as con:
        con.register("_call_rows", table)
        try:
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _call_stage AS
                SELECT 'rows' AS source_file, row_number() OVER () AS row_number, to_json(r)::VARCHAR AS raw,
                       NULL::VARCHAR AS pre_reason, r.*
                FROM _call_rows r
                """
            )
        finally:
            con.unregister("_call_rows")
        return _run_checked(con, "rows", "rows")


def quarantined_rows(target) -> pd.DataFrame:
    """Every quarantined row with its reason, newest first."""
    return store_of(target).query_df(
        "SELECT source_file, row_number, reason, raw, quarantined_at FROM pstn_call_quarantine "
        "ORDER BY quarantined_at DESC, source_file, row_number"
    )


def iter_graph_pages(rows: Iterable[dict], page_size: int = 1000) -> Iterable[dict]:
    """Wrap rows as Graph getPstnCalls pages (for tests, demos and benchmarks)."""
    page, number = [], 0
    for row in rows:
        page.append(row)
        if len(page) == page_size:
            number += 1
            yield {"value": page, "@odata.nextLink": f"https://graph.microsoft.com/v1.0/communications/callRecords/getPstnCalls?$skip={number * page_size}"}
            page = []
    if page:
        yield {"value": page}
