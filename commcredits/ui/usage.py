"""Usage page: import call logs, settle charged calls into the ledger, and see where the money went.

The page only moves files and shows results; importing is `io.pstn_calls`, pricing `rating`, paying
`settlement`, the spend tables `insights`. Uploaded bytes go to a temporary file that is deleted after
the import; the upload widget is emptied at once so the bytes are not kept in the kernel.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..countries import country_names
from ..credits.ledger import Agreement, Ledger
from ..credits.settlement import SettlementReport
from ..rows import frame_rows
from ..usage import insights
from ..usage.call_import import CALL_LOG_SUFFIXES, EXPECTED_FILES, ImportReport, call_log_files, import_pstn_calls
from ..usage.lists import quarantine_reasons, quarantine_rows
from ..usage.rate_and_settle import rate_and_settle
from . import charts
from . import format as fmt
from .attention import AttentionList
from .kit import html_part, section, tagged
from .long_list import LongList
from .spend_tables import read_session, report_dimensions_html
from .usage_words import BLOCKED_REASON, explain, plain_reason, settlement_lines, status_lines
from .usage_words import calls as calls_text

IMPORTABLE = tuple(sorted(CALL_LOG_SUFFIXES))
TOP = 10


# ---- pure helpers (tested without widgets) ------------------------------------------------------------


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


def blocked_csv_frame(calls: pd.DataFrame) -> pd.DataFrame:
    """Every blocked call of a settlement for the CSV download."""
    return pd.DataFrame(
        {
            "Call ID": calls["usage_id"],
            "Started (UTC)": calls["start_at"].map(fmt.utc_text),
            "Charge": calls["charge"].map(str),
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


def run_import(
    ledger: Ledger, steps: list[ImportStep], on_progress: Callable[[float, str], None] = lambda done, text: None
) -> ImportReport:
    """Import each file in its own transaction, reporting progress (0..1, weighted by file size) between files.

    Raises what `import_pstn_calls` raises, with the report of the files already imported in `.report`
    and the failing file's name in `.file` (a failed file changes nothing: its transaction rolls back)."""
    total = sum(s.size for s in steps) or 1
    done = 0
    report = ImportReport()
    for number, step in enumerate(steps, 1):
        on_progress(
            done / total,
            f"File {number} of {len(steps)}: {step.name} — reading the rows, checking them "
            "and skipping known ones, writing the new ones (one transaction)…",
        )
        try:
            report += import_pstn_calls(ledger, step.path, progress=False)
        except Exception as error:
            error.report, error.file = report, step.name
            raise
        done += step.size
        on_progress(done / total, f"File {number} of {len(steps)}: {step.name} done.")
    return report


# ---- the page -----------------------------------------------------------------------------------------


class UsagePage:
    """The Usage page. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.currency = ledger.currency
        self.locale = locale or fmt.display_locale()
        self.last_import: ImportReport | None = None
        self.last_settlement: SettlementReport | None = None

        self.upload = tagged(
            widgets.FileUpload(
                accept=",".join(IMPORTABLE),
                multiple=True,
                description="Choose files",
                layout=widgets.Layout(width="auto"),
            ),
            "cc-upload",
        )
        self.path = tagged(
            widgets.Text(
                description="Or a file or folder",
                placeholder="on the dashboard's computer, e.g. /data/exports/",
                style={"description_width": "170px"},
                layout=widgets.Layout(width="560px"),
            ),
            "cc-path",
        )
        self.import_button = tagged(
            widgets.Button(description="Import", button_style="primary", icon="upload"), "cc-import"
        )
        fmt.submit_on_enter([self.path], self.import_button)
        self.progress = tagged(
            widgets.IntProgress(
                value=0,
                min=0,
                max=100,
                description="",
                bar_style="",
                layout=widgets.Layout(width="560px", visibility="hidden"),
            ),
            "cc-progress",
        )
        self.phase = html_part("cc-phase")
        self.import_status = html_part("cc-import-status")
        self.import_result = html_part("cc-import-result")
        self.quarantine = LongList(
            frame_rows(pd.DataFrame()),
            self._quarantine_html,
            filename="quarantined-rows.csv",
            export=quarantine_csv_frame,
            css="cc-quarantine-list",
            locale=self.locale,
        )
        self.quarantine.widget.layout.display = "none"

        self.settle_button = tagged(
            widgets.Button(
                description="Settle charged calls",
                button_style="success",
                icon="check",
                layout=widgets.Layout(width="220px"),
            ),
            "cc-settle",
        )
        self.settle_status = html_part("cc-settle-status")
        self.settle_result = html_part("cc-settle-result")
        self.blocked = LongList(
            frame_rows(pd.DataFrame()),
            self._blocked_html,
            filename="blocked-calls.csv",
            export=blocked_csv_frame,
            noun="calls",
            css="cc-blocked-list",
            locale=self.locale,
        )
        self.blocked.widget.layout.display = "none"

        self.spend = html_part("cc-spend")
        self.chart = tagged(widgets.Output(), "cc-spend-chart")
        self.attention = AttentionList(ledger, locale=self.locale)

        self.import_button.on_click(self._on_import)
        self.settle_button.on_click(self._on_settle)
        self.show_spend()

        self.widget = tagged(
            widgets.VBox(
                [
                    widgets.HTML(fmt.STYLE),
                    section(
                        "1. Import call logs",
                        "The PSTN usage report exported from the Teams admin center (.csv, or the Calls.Export zip), "
                        "or call records downloaded with Microsoft Graph (.json, .jsonl). Calls already imported are "
                        "skipped; rows that cannot be read are set aside with the reason. For very large files, type "
                        "where the file is on the dashboard's computer instead of uploading.",
                    ),
                    widgets.HBox([self.upload, self.import_button]),
                    self.path,
                    self.progress,
                    self.phase,
                    self.import_status,
                    self.import_result,
                    self.quarantine.widget,
                    section(
                        "2. Settle charged calls",
                        "Pays what Microsoft charged for each call from credits, oldest first, with auto-recharge "
                        "when it is on; calls without a charge only get an estimate. Running it again settles "
                        "nothing twice.",
                    ),
                    self.settle_button,
                    self.settle_status,
                    self.settle_result,
                    self.blocked.widget,
                    self.attention.widget,
                    section("3. Where the money went", "Calls paid from credits, from the ledger."),
                    self.chart,
                    self.spend,
                ]
            ),
            "cc-usage cc-page",
        )

    # ---- import ----

    def _set_progress(self, done: float, text: str) -> None:
        self.progress.value = round(100 * done)
        self.phase.value = html.escape(text)

    def _on_import(self, _button=None) -> None:
        uploads = list(self.upload.value)
        server_path = self.path.value.strip()
        self.import_status.value = ""
        if not uploads and not server_path:
            self.import_status.value = fmt.error_html(
                "Choose files to upload, or type the path of a file or folder on the server, then click Import."
            )
            return
        refused = unsupported([u["name"] for u in uploads])
        if refused:
            self.import_status.value = fmt.error_html(
                f"Not a call log file: {', '.join(refused)}. Upload .json, .jsonl, .csv or .zip files; "
                "nothing was imported."
            )
            return
        steps: list[ImportStep] = []
        if server_path:
            where = Path(server_path).expanduser()
            if not where.exists():
                self.import_status.value = fmt.error_html(
                    f"{server_path} does not exist on the server; nothing was imported."
                )
                return
            found = call_log_files(where)
            if not found:
                self.import_status.value = fmt.error_html(
                    f"No .json, .jsonl, .csv or .zip files in {server_path}; nothing was imported."
                )
                return
            steps += import_steps(found)
        self.import_button.disabled = True
        self.progress.layout.visibility = "visible"
        self.progress.bar_style = "info"
        temp = Path(tempfile.mkdtemp(prefix="commcredits-upload-")) if uploads else None
        started = time.monotonic()
        try:
            if uploads:
                steps = self._save_uploads(uploads, temp) + steps
            report = run_import(self.ledger, steps, self._set_progress)
        except Exception as error:  # shown in the form; the failed file's transaction rolled back
            done = getattr(error, "report", ImportReport())
            name = getattr(error, "file", "the upload")
            self.progress.bar_style = "danger"
            self.phase.value = ""
            kept = (
                f" The {done.files} file{'s' if done.files != 1 else ''} before it imported ({done.imported} new rows)."
                if done.files
                else ""
            )
            self.import_status.value = fmt.error_html(
                f"Could not import {name}: {explain(error)} Nothing from this file was imported.{kept}"
            )
            if done.files:
                self._show_import(done, steps)
            return
        finally:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
            self.import_button.disabled = False
        self.progress.value = 100
        if report.imported + report.duplicates == 0:  # a wrong file is an error, never a green "Done"
            self.progress.bar_style = "danger"
            self.phase.value = ""
            self.import_status.value = fmt.error_html(nothing_imported(self.ledger, steps))
        else:
            self.progress.bar_style = "success"
            self.phase.value = html.escape(
                f"Done: {report.files} file{'s' if report.files != 1 else ''} in {time.monotonic() - started:.1f} s."
            )
        self.last_import = report
        self._show_import(report, steps)
        self.upload.value = ()
        self.path.value = ""

    def _save_uploads(self, uploads: list[dict], folder: Path) -> list[ImportStep]:
        """Write each upload to `folder` under its own name, then empty the upload widget."""
        paths, names = [], []
        for number, upload in enumerate(uploads, 1):
            name = Path(upload["name"]).name or f"upload-{number}"
            self._set_progress(0, f"Saving upload {number} of {len(uploads)}: {name}…")
            target = folder / f"{number:03d}" / name  # one folder per upload: two files may share a name
            target.parent.mkdir()
            target.write_bytes(upload["content"])
            paths.append(target)
            names.append(name)
        self.upload.value = ()  # the bytes now live in the temp file only
        return import_steps(paths, names)

    def _show_import(self, report: ImportReport, steps: list[ImportStep]) -> None:
        cards = "".join(
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
        summary = ""
        names = {s.name for s in steps}
        if report.quarantined:
            reasons = quarantine_reasons(self.ledger, names)
            reasons = reasons.assign(reason=reasons["reason"].map(plain_reason))
            summary = (
                '<h3 class="cc-section">Quarantined rows</h3><div class="cc-hint">Set aside with the reason; '
                "fix them in the file and import it again (rows already imported are skipped).</div>"
                + fmt.html_table(
                    reasons,
                    labels={"reason": "Reason", "rows": "Rows"},
                    css_class="cc-table cc-quarantine-reasons",
                    locale=self.locale,
                )
            )
            self.quarantine.source = quarantine_rows(self.ledger, names)
            self.quarantine.show()
        self.quarantine.widget.layout.display = None if report.quarantined else "none"
        self.import_result.value = f'<div class="cc-cards">{cards}</div>{summary}'
        self.show_spend()

    def _quarantine_html(self, rows: pd.DataFrame) -> str:
        rows = rows.assign(
            row_number=rows["row_number"].map(lambda n: row_label(n, self.locale)),
            reason=rows["reason"].map(plain_reason),
        )
        return fmt.html_table(
            rows,
            labels={"file": "File", "row_number": "Row", "reason": "Reason"},
            css_class="cc-table cc-quarantine",
            locale=self.locale,
        )

    # ---- settle ----

    def _on_settle(self, _button=None) -> None:
        self.settle_button.disabled = True
        self.settle_status.value = '<div class="cc-phase">Pricing the calls, then settling…</div>'
        try:
            done = rate_and_settle(self.ledger)
        except Exception as error:  # shown in the form; settle is one transaction, nothing was recorded
            self.settle_status.value = fmt.error_html(f"Could not settle: {explain(error)} Nothing was recorded.")
            return
        finally:
            self.settle_button.disabled = False
        self.last_settlement = report = done.settlement
        self.settle_status.value = ""
        self.settle_result.value = self._settlement_html(report, done.rating.unrated)
        self.show_spend()

    def _settlement_html(self, report: SettlementReport, unrated: int) -> str:
        """This settlement's cards, then every imported call by what became of it (all time, adding up)."""
        cards = "".join(
            fmt.card(
                label,
                value,
                note,
                f"cc-settle-{label.lower().replace(' ', '-')}"
                + (" cc-warning" if label == "Blocked" and report.blocked else ""),
            )
            for label, value, note in settlement_lines(report, self.currency, self.locale)
        )
        total, lines = status_lines(report.by_status, self.locale)
        statuses = "".join(
            fmt.card(label, value, note, f"cc-calls-{status.replace('_', '-')}") for status, label, value, note in lines
        )
        unrated_note = (
            f'<div class="cc-hint">Unrated: {calls_text(unrated, self.locale)} with no charge from '
            "Microsoft and no rate card price, so not even an estimate. Load your rate card "
            "(load_rate_card) for estimates.</div>"
            if unrated
            else ""
        )
        blocked = ""
        calls = report.blocked_calls
        shown = bool(report.blocked and calls is not None and len(calls))
        if shown:
            blocked = (
                f'<h3 class="cc-section">Blocked calls</h3><div class="cc-hint">Not recorded because '
                f"{BLOCKED_REASON}.</div>"
            )
            self.blocked.source = frame_rows(calls.reset_index(drop=True))
            self.blocked.show()
        self.blocked.widget.layout.display = None if shown else "none"
        balance = fmt.money(self.ledger.balance(), self.currency, self.locale)
        after = (
            "" if self.ledger.agreement is Agreement.MCA else f"<div>Balance now: <b>{html.escape(balance)}</b>.</div>"
        )
        return (
            '<h4 class="cc-subsection">This settlement</h4>'
            f'<div class="cc-cards cc-this-settlement">{cards}</div>{after}'
            f'<h4 class="cc-subsection">Every imported call so far: {fmt.count(total, self.locale)}</h4>'
            '<div class="cc-hint">All time, each call counted once by what became of it.</div>'
            f'<div class="cc-cards cc-all-calls">{statuses}</div>{unrated_note}{blocked}'
        )

    # ---- spend ----

    def _blocked_html(self, calls: pd.DataFrame) -> str:
        return fmt.html_table(
            calls,
            labels={"usage_id": "Call ID", "start_at": "Started", "charge": "Charge"},
            money_columns=("charge",),
            instant_columns=("start_at",),
            currency=self.currency,
            css_class="cc-table cc-blocked",
            locale=self.locale,
        )

    def show_spend(self) -> None:
        """Read the spend views again and redraw the tables, the chart and the calls needing attention."""
        try:
            with read_session(self.ledger):  # one open of the file for these reads, not one per query
                self.attention.show()
                users = insights.spend_by(self.ledger, "user").head(TOP)
                places = insights.spend_by(self.ledger, "destination").head(TOP)
                months = insights.spend_by(self.ledger, "month")
                by_report_dimensions = report_dimensions_html(self.ledger, locale=self.locale)
        except Exception as error:  # a busy file must not break the page
            self.spend.value = fmt.error_html(
                f"Could not read the spend tables: {explain(error)} Try again in a moment."
            )
            return
        names = country_names()
        places = places.assign(
            destination=[
                "Unknown" if c in (None, "??") or pd.isna(c) else f"{names.get(c, c)} ({c})"
                for c in places["destination_country"]
            ]
        )
        for frame in (users, places, months):
            frame["minutes"] = frame["minutes"].astype(float).round().astype("int64")
        months = months.assign(label=[fmt.month(m, self.locale) for m in pd.to_datetime(months["month"])])
        table = lambda frame, first, label, css: fmt.html_table(  # noqa: E731
            frame,
            labels={first: label, "calls": "Calls", "minutes": "Minutes", "amount": "Spent"},
            money_columns=("amount",),
            currency=self.currency,
            css_class=f"cc-table {css}",
            locale=self.locale,
        )
        users = users.assign(
            user=[
                d if isinstance(d, str) and d else u
                for u, d in zip(users["user_principal_name"], users["user_display_name"])
            ]
        )
        self.spend.value = (
            '<div class="cc-grid">'
            f'<div><h3 class="cc-section">Top users</h3>{table(users, "user", "User", "cc-spend-users")}</div>'
            f'<div><h3 class="cc-section">Top destinations</h3>'
            f"{table(places, 'destination', 'Destination', 'cc-spend-destinations')}</div>"
            f'<div><h3 class="cc-section">By month</h3>{table(months, "label", "Month", "cc-spend-months")}</div>'
            f"{by_report_dimensions}</div>"
        )
        charts.show_in(
            self.chart, [] if months.empty else [charts.spend_by_month_chart(months, self.currency, self.locale)]
        )


def build_usage_page(ledger: Ledger, *, locale: str | None = None) -> UsagePage:
    """The Usage page for `ledger`."""
    return UsagePage(ledger, locale=locale)
