"""Import PSTN call logs: Graph `getPstnCalls` responses and the Teams admin center PSTN usage CSV export.

Sources: one Graph response (`{"value": [...], "@odata.nextLink": ...}`), a folder of such pages, JSON lines
(one row or one page per line), a Teams admin center export (`Calls.Export.*.zip` or the CSV inside), or rows
already in memory (a list of dicts or a DataFrame with Graph field names). Every row is keyed on its row
`id` (CSV `UsageId`), never on `callId`: importing overlapping files imports each row once. Rows that
cannot be read go to `pstn_call_quarantine` with the reason; the rest imports. Files are read by DuckDB
(streaming) one file per transaction, or several small ones up to 64 MiB together (a commit per small file
costs more than the file), with a progress bar over files; the transactions of one import share a connection
for a few seconds at a time (`Store.transactions`), so a folder of many files opens and checkpoints the ledger
file a few times, not once per file.

This module decides what to read and owns the one transaction boundary (`Run`); call_files.py says
whether a file is safe to read (formats, zip, encoding, limits), call_checks.py checks and inserts its rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pandas as pd
from tqdm.auto import tqdm

from ..errors import InvalidInput, UnreadableFile
from ..store import named_sql, store_of
from .call_checks import ImportReport, import_csv, import_graph_pages, import_json_lines, import_rows, quarantine_file
from .call_files import (
    CALL_LOG_SUFFIXES,
    CHUNK,
    EXPECTED_FILES,
    call_log_files,
    file_batches,
    is_single_json_document,
    json_reason,
    open_zip,
    refuse_deep_nesting,
    unpack,
    utf8_file,
    zip_members,
)

Work = Callable[[duckdb.DuckDBPyConnection], ImportReport]
Run = Callable[[Work], ImportReport]  # runs one Work in a transaction of its own: all or nothing (Store.transactions)


def import_pstn_calls(
    ledger, source, *, progress: bool | None = None, on_batch: Callable[[list[Path], ImportReport], None] | None = None
) -> ImportReport:
    """Import PSTN call log rows from `source` into the ledger's database; return an ImportReport.

    `source`: a Graph response file, a folder of pages, a JSON lines file, a Teams admin center export
    (zip or CSV), a list of such files and folders, a list of dicts or a DataFrame (Graph field names). Raises
    InvalidInput when a source does not exist or is of no known kind; unreadable rows never raise, they are
    quarantined. `on_batch(files, report)` is told before each transaction's files are read, with what the files
    before them imported. An error from a file carries `.files` (the files its transaction rolled back: nothing of
    them was recorded) and `.report` (what the files before them imported, all committed)."""
    store = store_of(ledger)
    if isinstance(source, pd.DataFrame) or (isinstance(source, list) and all(isinstance(r, dict) for r in source)):
        with store.transaction() as con:
            return import_rows(con, source)
    files = [file for path in (source if isinstance(source, list | tuple) else [source]) for file in _files_at(path)]
    report = ImportReport()
    with (
        tqdm(total=len(files), desc="Importing call logs", unit="file", disable=_quiet(progress, len(files))) as bar,
        store.transactions() as run,
    ):
        for pages, batch in file_batches(files):
            if on_batch is not None:
                on_batch(batch, report)
            try:
                report += _import_batch(run, pages, batch)
            except Exception as error:
                error.report = report + getattr(error, "report", ImportReport())
                error.files = getattr(error, "files", batch)
                raise
            bar.update(len(batch))
            bar.set_postfix(imported=report.imported, quarantined=report.quarantined)
    return report


def _files_at(source) -> list[Path]:
    """The call log files of a file or folder `source` (InvalidInput when there are none)."""
    path = Path(source)
    if not path.exists():
        raise InvalidInput(
            "source", f"{path} does not exist; give a Graph JSON file, a folder of pages or a CSV/zip export."
        )
    files = call_log_files(path)
    if not files:
        what = (
            f"{path.name} is not a call log file" if path.is_file() else f"the folder {path.name} has no call log files"
        )
        raise InvalidInput("source", f"{what}: give {EXPECTED_FILES}.")
    return files


def _quiet(progress: bool | None, files: int) -> bool | None:
    if progress is None:
        return None if files > 3 else True  # None: tqdm decides (off when not a terminal or notebook)
    return not progress


def _import_batch(run: Run, pages: bool, batch: list[Path]) -> ImportReport:
    """Several small files in one transaction (a transaction per small file would cost more than the file): Graph
    pages in one statement, JSON lines files together, other files one after another. When one of them cannot be
    read, each file on its own, so the others import and that one is quarantined with its reason."""
    if len(batch) > 1:
        names = [str(f) for f in batch]
        try:
            if pages:
                return run(lambda con: import_graph_pages(con, names, names))
            return run(lambda con: _read_files(con, batch, names))
        except (duckdb.Error, UnreadableFile):
            pass
    report = ImportReport()
    for file in batch:
        try:
            report += _import_file(run, file)
        except Exception as error:  # the files before it in this batch are committed; this one rolled back
            error.report, error.files = report, [file]
            raise
    return report


def _read_files(con, files: list[Path], labels: list[str]) -> ImportReport:
    """CSV or JSON files inside the caller's transaction, in their order (UnreadableFile when one cannot be
    read): JSON lines files all read together, any other mix each file by its kind."""
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / str(n) for n in range(len(files))]  # a converted copy keeps its file's name
        for folder in folders:
            folder.mkdir()
        readable = [utf8_file(file, folder) for file, folder in zip(files, folders)]
        kinds = [_kind(file) for file in readable]
        if set(kinds) == {"json_lines"}:
            return import_json_lines(con, readable, labels)
        return sum((READERS[k](con, f, label) for k, f, label in zip(kinds, readable, labels)), ImportReport())


def _import_file(run: Run, file: Path, label: str | None = None) -> ImportReport:
    """Import one file; a file that cannot be read as a whole is quarantined as one row with the reason."""
    label = label or str(file)
    try:
        if file.suffix.lower() == ".zip":
            return _import_zip(run, file)
        return run(lambda con: _read_files(con, [file], [label]))
    except UnreadableFile as refused:
        reason = refused.reason
        return run(lambda con: quarantine_file(con, file, reason, label=label))


def _kind(file: Path) -> str:
    """What a UTF-8 file is by its suffix and shape: an admin center CSV export, JSON lines, or one Graph response
    (UnreadableFile when its JSON nests too deep)."""
    suffix = file.suffix.lower()
    if suffix == ".csv":
        return "csv"
    with file.open("rb") as handle:
        refuse_deep_nesting(handle.read(CHUNK))
    if suffix in {".jsonl", ".ndjson"} or not is_single_json_document(file):
        return "json_lines"
    return "graph_page"


def _import_graph_page(con, file: Path, label: str) -> ImportReport:
    try:
        return import_graph_pages(con, [str(file)], [label])
    except duckdb.Error as exc:  # the transaction is aborted: _import_file quarantines in a new one
        raise UnreadableFile(json_reason(exc)) from None


READERS = {
    "csv": import_csv,
    "json_lines": lambda con, file, label: import_json_lines(con, [file], [label]),
    "graph_page": _import_graph_page,
}


def _import_zip(run: Run, file: Path) -> ImportReport:
    """The CSV files inside a Teams admin center export, each checked against the size and ratio limits
    before and while it is unpacked."""
    report = ImportReport()
    with open_zip(file) as archive, tempfile.TemporaryDirectory() as tmp:
        for number, member in enumerate(zip_members(archive, file.name)):
            target = Path(tmp) / f"{number}-{Path(member.filename).name}"
            unpack(archive, member, target)
            report += _import_file(run, target, f"{file}!{member.filename}")
            target.unlink()
    return report.as_files(1)


def quarantined_rows(ledger) -> pd.DataFrame:
    """Every quarantined row with its reason, newest first."""
    return store_of(ledger).query_df(named_sql("usage_import")["quarantined_rows"])


def iter_graph_pages(rows: Iterable[dict], page_size: int = 1000) -> Iterable[dict]:
    """Wrap rows as Graph getPstnCalls pages (for tests, demos and benchmarks)."""
    page, number = [], 0
    for row in rows:
        page.append(row)
        if len(page) == page_size:
            number += 1
            yield {
                "value": page,
                "@odata.nextLink": f"https://graph.microsoft.com/v1.0/communications/callRecords/getPstnCalls?$skip={number * page_size}",
            }
            page = []
    if page:
        yield {"value": page}


__all__ = [
    "CALL_LOG_SUFFIXES",
    "EXPECTED_FILES",
    "ImportReport",
    "call_log_files",
    "import_pstn_calls",
    "iter_graph_pages",
    "quarantined_rows",
    "store_of",
]
