"""The Usage page's import section without widgets: which files to import, the words and tables of the result.

`run_import` itself stays in `ui.usage` beside the page that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..credits.ledger import Ledger
from ..usage.call_import import CALL_LOG_SUFFIXES, EXPECTED_FILES, ImportReport
from ..usage.lists import quarantine_rows
from . import format as fmt
from .usage_words import plain_reason

IMPORTABLE = tuple(sorted(CALL_LOG_SUFFIXES))


@dataclass(frozen=True)
class ImportStep:
    """One file to import: `path` on disk, `name` shown to people, `size` in bytes (weights the progress)."""

    path: Path
    name: str
    size: int


def unsupported(names: list[str]) -> list[str]:
    """The names among `names` that are not a call log file this page can import."""
    return [n for n in names if Path(n).suffix.lower() not in IMPORTABLE]


def row_label(number, locale: str | None = None) -> str:
    """The row a quarantined row came from, as people count it ("whole file" when the file was refused)."""
    return "whole file" if pd.isna(number) else fmt.count(number, locale)


def quarantine_csv_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Every quarantined row for the CSV download, the row as it was read included (to fix it at the source)."""
    return pd.DataFrame(
        {
            "File": rows["file"],
            "Row": rows["row_number"].map(row_label),
            "Reason": rows["reason"],
            "Set aside (UTC)": rows["quarantined_at"].map(fmt.utc_text),
            "Row as read": rows["raw"],
        }
    )


def nothing_imported(ledger: Ledger, steps: list[ImportStep]) -> str:
    """Why an import that brought in no row failed, file by file, and what the page expects (said once)."""
    rows = quarantine_rows(ledger, {s.name for s in steps}).page(0, 1000)
    whole = rows[rows["row_number"].isna()].drop_duplicates("file")
    reasons = " ".join(
        sentence(plain_reason(r) if r.startswith(f"{f} ") else f"{f}: {plain_reason(r)}")
        for f, r in zip(whole["file"], whole["reason"])
    ) or ("Every row was set aside; see the reasons below.")
    names = ", ".join(s.name for s in steps)
    expected = "" if EXPECTED_FILES in reasons else f" This page reads {EXPECTED_FILES}."
    return f"Nothing was imported from {names}. {reasons}{expected}"


def sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else f"{text}."


def import_steps(paths: list[Path], names: list[str] | None = None) -> list[ImportStep]:
    names = names or [p.name for p in paths]
    return [ImportStep(p, n, max(p.stat().st_size, 1)) for p, n in zip(paths, names)]


def files_word(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


def import_cards_html(report: ImportReport) -> str:
    """The three cards of an import: imported, skipped as duplicates, quarantined."""
    return "".join(
        [
            fmt.card("Imported", str(report.imported), "new call rows", "cc-imported"),
            fmt.card(
                "Skipped as duplicates",
                str(report.duplicates),
                "already imported, or repeated in the file",
                "cc-duplicates",
            ),
            fmt.card(
                "Quarantined",
                str(report.quarantined),
                "unreadable rows, kept with the reason",
                "cc-quarantined cc-warning" if report.quarantined else "cc-quarantined",
            ),
        ]
    )


def quarantine_reasons_html(reasons: pd.DataFrame, locale: str | None) -> str:
    """The quarantined rows counted by reason, in plain words, with what to do about them."""
    reasons = reasons.assign(reason=reasons["reason"].map(plain_reason))
    return (
        '<h3 class="cc-section">Quarantined rows</h3><div class="cc-hint">Set aside with the reason; '
        "fix them in the file and import it again (rows already imported are skipped).</div>"
        + fmt.html_table(
            reasons,
            labels={"reason": "Reason", "rows": "Rows"},
            css_class="cc-table cc-quarantine-reasons",
            locale=locale,
        )
    )


def quarantine_table_html(rows: pd.DataFrame, locale: str | None) -> str:
    """One page of quarantined rows."""
    rows = rows.assign(
        row_number=rows["row_number"].map(lambda n: row_label(n, locale)),
        reason=rows["reason"].map(plain_reason),
    )
    return fmt.html_table(
        rows,
        labels={"file": "File", "row_number": "Row", "reason": "Reason"},
        css_class="cc-table cc-quarantine",
        locale=locale,
    )
