"""Which call log files to read and whether they are safe to read: suffixes, zip members, text encoding, and
the size and depth limits (docs/reliability.md). Nothing here touches the database: a file that cannot be
read as a whole raises UnreadableFile with the reason the admin sees, and the importer quarantines it.
"""

from __future__ import annotations

import codecs
import json
import shutil
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy

from ..errors import UnreadableFile

CALL_LOG_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson", ".csv", ".zip"})
EXPECTED_FILES = (
    "a Graph getPstnCalls response (.json or .jsonl) or the Teams admin center PSTN usage export "
    "(.csv, or the Calls.Export zip)"
)

# Limits on what one file may make us read (docs/reliability.md): a file (or everything inside one zip) up to
# 1 GiB of text, a zip member at most 100 times its compressed size (real CSV exports compress about 10x;
# a "zip bomb" compresses thousands of times), one JSON line or page up to 256 MiB.
MAX_FILE_BYTES = 1 << 30
MAX_ZIP_RATIO = 100
MAX_JSON_OBJECT_BYTES = 256 << 20
MAX_JSON_DEPTH = 1000  # Graph rows are flat objects inside {"value": [...]}: depth 3, or a few more
BATCH_BYTES = 64 << 20  # files read in one transaction (a Graph page is ~1,000 rows, ~1 MB; a day of 30k calls ~12 MB)
CHUNK = 1 << 20
NESTING_STEP = numpy.zeros(256, dtype=numpy.int8)  # what each byte does to the JSON depth
NESTING_STEP[list(b"[{")], NESTING_STEP[list(b"]}")] = 1, -1


def call_log_files(path: Path) -> list[Path]:
    """The files `import_pstn_calls` reads for `path` (a file, or a folder at any depth), in its order."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [f for f in files if f.suffix.lower() in CALL_LOG_SUFFIXES]


def file_batches(files: list[Path]) -> Iterable[tuple[bool, list[Path]]]:
    """Runs of consecutive files read in one transaction, up to BATCH_BYTES each, as (pages, files): Graph
    response files (pages: DuckDB reads them in one statement), or other small call log files (JSON lines files
    read together, others one after another: a commit per small file would cost more than the file). A zip, or a
    file over BATCH_BYTES, alone."""
    batch, size, pages = [], 0, False
    for file in files:
        bytes_, is_page = file.stat().st_size, is_one_response(file)
        alone = file.suffix.lower() == ".zip" or bytes_ > BATCH_BYTES
        if batch and (alone or is_page != pages or size + bytes_ > BATCH_BYTES):
            yield pages, batch
            batch, size = [], 0
        if alone:
            yield False, [file]
            continue
        batch.append(file)
        size, pages = size + bytes_, is_page
    if batch:
        yield pages, batch


def is_one_response(file: Path) -> bool:
    """A UTF-8 .json file of a sane size and depth holding one document: pretty-printed, or all on its first
    line (anything else goes the per-file way, which decodes, limits or quarantines it)."""
    if file.suffix.lower() != ".json" or not 0 < file.stat().st_size <= MAX_FILE_BYTES or not _is_utf8(file):
        return False
    try:
        with file.open("rb") as handle:
            refuse_deep_nesting(handle.read(CHUNK))
        if is_single_json_document(file):
            return True
    except UnreadableFile:
        return False
    with file.open("rb") as handle:
        handle.readline(1 << 24)
        return not handle.read(4096).strip()


def utf8_file(file: Path, folder: Path) -> Path:
    """`file` as UTF-8 without a byte-order mark: the file itself when it already is, else a converted copy
    in `folder`. Reads UTF-8 (with or without BOM), UTF-16 (with BOM, as Windows tools write it, or without
    BOM when every other byte is zero) and falls back to Windows-1252 / Latin-1 for anything else.
    Raises UnreadableFile for files over MAX_FILE_BYTES."""
    size = file.stat().st_size
    if size == 0:
        raise UnreadableFile("the file is empty; export the call log again.")
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"the file is {size / (1 << 20):,.0f} MiB; split it into files under "
            f"{MAX_FILE_BYTES >> 20:,} MiB (export a shorter date range)."
        )
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
            while chunk := handle.read(CHUNK):
                # ASCII is UTF-8: checking for it is ~10x cheaper than decoding (when no sequence is left open)
                if not (chunk.isascii() and not decoder.getstate()[0]):
                    decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(file: Path, folder: Path, encoding: str) -> Path:
    target = folder / f"utf8-{file.name}"
    try:
        with (
            file.open("r", encoding=encoding, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, CHUNK)
    except UnicodeDecodeError:
        if encoding == "cp1252":
            raise
        raise UnreadableFile(
            f"the file claims to be {encoding.upper()} text but is not; save it again as UTF-8."
        ) from None
    return target


def refuse_deep_nesting(head: bytes) -> None:
    """Refuse JSON whose start nests deeper than MAX_JSON_DEPTH (brackets inside strings count too, which
    only matters for text of hundreds of brackets)."""
    if head.count(b"[") + head.count(b"{") <= MAX_JSON_DEPTH:  # too few openings to nest that deep
        return
    depth = numpy.cumsum(NESTING_STEP[numpy.frombuffer(head, dtype=numpy.uint8)], dtype=numpy.int32)
    if depth.max(initial=0) > MAX_JSON_DEPTH:
        raise UnreadableFile(
            f"the JSON is nested more than {MAX_JSON_DEPTH:,} levels deep; a call log is "
            'flat rows inside {"value": [...]}.'
        )


def is_single_json_document(file: Path) -> bool:
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


def json_reason(exc: Exception) -> str:
    """The admin's words for DuckDB refusing a JSON document."""
    text = str(exc)
    if "maximum_object_size" in text or "maximum object size" in text:
        return f"one JSON object is larger than {MAX_JSON_OBJECT_BYTES >> 20} MiB; export smaller pages."
    if "depth" in text.lower() or "nest" in text.lower():
        return "the JSON is nested too deeply to be a call log (Graph rows are flat objects)."
    first = text.splitlines()[0] if text else "unknown error"
    return f"not a complete JSON document (cut off or damaged?): {first[:200]}"


def head_text(file: Path) -> str:
    """The first 10,000 characters of a file (none for a zip, which is not text), kept with its quarantine row."""
    if file.suffix.lower() == ".zip":
        return ""
    with file.open("rb") as handle:
        return handle.read(10000).decode("utf-8", errors="replace")


def zip_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    """The CSV files inside a Teams admin center export, once their declared sizes pass the limits."""
    members = [m for m in archive.infolist() if not m.is_dir() and m.filename.lower().endswith(".csv")]
    if not members:
        raise UnreadableFile(f"{name} has no CSV file inside; expected the Teams admin center PSTN usage export.")
    total = sum(m.file_size for m in members)
    if total > MAX_FILE_BYTES:
        raise UnreadableFile(
            f"the zip expands to {total / (1 << 20):,.0f} MiB; the limit is {MAX_FILE_BYTES >> 20:,} MiB."
        )
    for m in members:
        if m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1) and m.file_size > CHUNK:
            raise UnreadableFile(
                f"{m.filename} expands {m.file_size // max(m.compress_size, 1):,} times its zipped "
                f"size (more than {MAX_ZIP_RATIO}x is refused as a zip bomb)."
            )
    return members


def open_zip(file: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError):
        raise UnreadableFile(
            f"{file.name} is not a zip archive; give the Calls.Export zip as downloaded, or the CSV inside it."
        ) from None


def unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member out, counting bytes: the sizes in the zip's directory may lie."""
    limit = min(MAX_FILE_BYTES, max(MAX_ZIP_RATIO * max(member.compress_size, 1), CHUNK))
    written = 0
    try:
        with archive.open(member) as src, target.open("wb") as dst:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UnreadableFile(
                        f"{member.filename} expands beyond {limit / (1 << 20):,.0f} MiB from "
                        f"{member.compress_size:,} bytes; refused as a zip bomb."
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise UnreadableFile(f"{member.filename} cannot be unpacked ({exc}); download the export again.") from None
