"""Reading tenant files: the one way a check records a problem (`RecordProblems`), and Microsoft Graph JSON collections
(`GET /users`, `GET /subscribedSkus`) from a page dict, a list, a file or a folder of `@odata.nextLink` pages."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, TenantImportError

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def clean_text(value: Any) -> str | None:
    """The value as stripped text; None when it is missing or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass
class RecordProblems:
    """The one way a check records a problem: each names the record (`where`) and whose it is (`key`).
    Call it with the field and the message; `found` holds what this record's checks found."""

    where: str
    key: str | None
    found: list[Problem] = field(default_factory=list)

    def __call__(self, name: str, message: str) -> None:
        self.found.append(Problem(name, message, record=self.where, key=self.key))


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: counts, and how many history rows it appended."""

    import_id: int
    users: int
    licenses: int
    skus: int
    changes: int


@dataclass(frozen=True)
class Record:
    """One record of an import and where it came from (e.g. "users.json record 3")."""

    where: str
    data: Any


# ---------------------------------------------------------------------------------------------- reading

# Reading guard (docs/reliability.md): a Graph export page is a few MiB.
MAX_JSON_FILE_BYTES = 256 << 20


def _load_json(path: Path) -> Any:
    def refuse(message: str) -> TenantImportError:
        return TenantImportError([Problem("JSON", message, record=path.name)])

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


def read_graph_collection(source: Any, what: str) -> list[Record]:
    """Records of a Graph collection from a page dict, a list of pages or records, a JSON file or a folder."""
    pages: list[tuple[str, Any]]
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json")
            if not files:
                raise TenantImportError([Problem(what, "the folder holds no .json pages", record=str(path))])
            pages = [(p.name, _load_json(p)) for p in files]
        elif path.is_file():
            pages = [(path.name, _load_json(path))]
        else:
            raise TenantImportError([Problem(what, "no such file or folder", record=str(path))])
    elif _is_page(source):
        pages = [(what, source)]
    elif isinstance(source, Sequence) and not isinstance(source, (str, bytes)):
        if source and all(_is_page(p) for p in source):
            pages = [(f"{what} page {i + 1}", p) for i, p in enumerate(source)]
        else:
            pages = [(what, {"value": list(source)})]
    else:
        raise TenantImportError(
            [Problem(what, 'expected Graph JSON: a dict with "value", a list, a file or a folder', record=what)]
        )

    records: list[Record] = []
    problems: list[Problem] = []
    for number, (label, page) in enumerate(pages, start=1):
        if isinstance(page, list):
            page = {"value": page}
        if not _is_page(page) or not isinstance(page["value"], list):
            problems.append(Problem("value", f'expected a Graph page with a "value" list of {what}', record=label))
            continue
        if page.get("@odata.nextLink") and number == len(pages):
            problems.append(
                Problem(
                    "@odata.nextLink",
                    "this is the last page given but it says more pages follow; export every page",
                    record=label,
                )
            )
        records.extend(Record(f"{label} record {i + 1}", r) for i, r in enumerate(page["value"]))
    if problems:
        raise TenantImportError(problems)
    return records
