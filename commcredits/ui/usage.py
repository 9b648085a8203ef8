"""Usage page: import call logs, settle charged calls into the ledger, and see where the money went.

The page only moves files and shows results; importing is `io.pstn_calls`, pricing `rating`, paying
`settlement`, the spend tables `insights`. Uploaded bytes go to a temporary file that is deleted after
the import; the upload widget is emptied at once so the bytes are not kept in the kernel. The import
section's words and tables are in `ui.usage_import`, the settle and spend sections' in `ui.usage_views`.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from ..credits.ledger import Agreement, Ledger
from ..credits.settlement import SettlementReport
from ..rows import frame_rows
from ..usage import insights
from ..usage.call_import import ImportReport, call_log_files, import_pstn_calls
from ..usage.lists import quarantine_reasons, quarantine_rows
from ..usage.rate_and_settle import rate_and_settle
from . import charts
from . import format as fmt
from .attention import AttentionList
from .kit import html_part, section, tagged
from .long_list import LongList
from .spend_tables import read_session, report_dimensions_html
from .usage_import import (
    IMPORTABLE,
    ImportStep,
    files_word,
    import_cards_html,
    import_steps,
    nothing_imported,
    quarantine_csv_frame,
    quarantine_reasons_html,
    quarantine_table_html,
    unsupported,
)
from .usage_views import blocked_csv_frame, blocked_table_html, settlement_html, spend_html, whole_minutes
from .usage_words import BLOCKED_REASON, explain

__all__ = ["BLOCKED_REASON", "UsagePage", "build_usage_page", "run_import"]  # BLOCKED_REASON: tests read it here

TOP = 10

IMPORT_HINT = (
    "The PSTN usage report exported from the Teams admin center (.csv, or the Calls.Export zip), "
    "or call records downloaded with Microsoft Graph (.json, .jsonl). Calls already imported are "
    "skipped; rows that cannot be read are set aside with the reason. For very large files, type "
    "where the file is on the dashboard's computer instead of uploading."
)
SETTLE_HINT = (
    "Pays what Microsoft charged for each call from credits, oldest first, with auto-recharge "
    "when it is on; calls without a charge only get an estimate. Running it again settles "
    "nothing twice."
)


def run_import(
    ledger: Ledger, steps: list[ImportStep], on_progress: Callable[[float, str], None] = lambda done, text: None
) -> ImportReport:
    """Import the files, reporting progress (0..1, weighted by file size) before each transaction: one file, or
    several small ones together (call_import.file_batches).

    Raises what `import_pstn_calls` raises, with the report of the files already imported in `.report` and the
    names of the files whose transaction rolled back (nothing of them was recorded) in `.file`."""
    total = sum(s.size for s in steps) or 1
    by_path = {s.path: s for s in steps}
    read = []  # the steps of the transactions started so far

    def before(files: list[Path], _report: ImportReport) -> None:
        batch = [by_path[f] for f in files if f in by_path]
        done, first = sum(s.size for s in read), len(read) + 1
        read.extend(batch)
        which = (
            f"File {first} of {len(steps)}: {batch[0].name}"
            if len(batch) == 1
            else f"Files {first}–{len(read)} of {len(steps)}: {_names(batch)}"
        )
        on_progress(
            done / total,
            f"{which} — reading the rows, checking them and skipping known ones, writing the new ones "
            "(one transaction)…",
        )

    try:
        return import_pstn_calls(ledger, [s.path for s in steps], progress=False, on_batch=before)
    except Exception as error:
        failed = [by_path[f].name for f in getattr(error, "files", []) if f in by_path]
        error.report = getattr(error, "report", ImportReport())
        error.file = ", ".join(failed) or (steps[0].name if len(steps) == 1 else files_word(len(steps)))
        raise


def _names(batch: list[ImportStep]) -> str:
    """The files of one transaction as the progress line names them (the first and last of a long run)."""
    if len(batch) <= 3:
        return ", ".join(s.name for s in batch)
    return f"{batch[0].name} … {batch[-1].name}"


class UsagePage:
    """The Usage page. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.currency = ledger.currency
        self.locale = locale or fmt.display_locale()
        self.last_import: ImportReport | None = None
        self.last_settlement: SettlementReport | None = None
        import_part = self._import_section()
        settle_part = self._settle_section()
        spend_part = self._spend_section()
        self.import_button.on_click(self._on_import)
        self.settle_button.on_click(self._on_settle)
        self.show_spend()
        self.widget = tagged(
            widgets.VBox([widgets.HTML(fmt.STYLE), *import_part, *settle_part, *spend_part]), "cc-usage cc-page"
        )

    # ---- the sections' widgets ----

    def _import_section(self) -> list[widgets.Widget]:
        """1. Import call logs: upload or a path on the server, the progress, the result, the quarantine."""
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
                layout=widgets.Layout(width="100%", max_width="560px", visibility="hidden"),  # phones too
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
        return [
            section("1. Import call logs", IMPORT_HINT),
            widgets.HBox([self.upload, self.import_button]),
            self.path,
            self.progress,
            self.phase,
            self.import_status,
            self.import_result,
            self.quarantine.widget,
        ]

    def _settle_section(self) -> list[widgets.Widget]:
        """2. Settle charged calls: the button, its result and the calls it could not pay."""
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
        self.attention = AttentionList(self.ledger, locale=self.locale)
        return [
            section("2. Settle charged calls", SETTLE_HINT),
            self.settle_button,
            self.settle_status,
            self.settle_result,
            self.blocked.widget,
            self.attention.widget,
        ]

    def _spend_section(self) -> list[widgets.Widget]:
        """3. Where the money went: the chart by month, then the tables."""
        self.spend = html_part("cc-spend")
        self.chart = tagged(widgets.Output(), "cc-spend-chart")
        self.charts = charts.ChartsAfterFirstPaint(self.chart)
        return [
            section("3. Where the money went", "Calls paid from credits, from the ledger."),
            self.chart,
            self.charts.button,
            self.spend,
        ]

    # ---- import ----

    def _set_progress(self, done: float, text: str) -> None:
        self.progress.value = round(100 * done)
        self.phase.value = html.escape(text)

    def _refuse(self, message: str) -> None:
        self.import_status.value = fmt.error_html(message)

    def _server_steps(self, server_path: str) -> list[ImportStep] | None:
        """The call log files at `server_path` on the server; None (and the reason shown) when there are none."""
        if not server_path:
            return []
        where = Path(server_path).expanduser()
        if not where.exists():
            self._refuse(f"{server_path} does not exist on the server; nothing was imported.")
            return None
        found = call_log_files(where)
        if not found:
            self._refuse(f"No .json, .jsonl, .csv or .zip files in {server_path}; nothing was imported.")
            return None
        return import_steps(found)

    def _on_import(self, _button=None) -> None:
        uploads = list(self.upload.value)
        server_path = self.path.value.strip()
        self.import_status.value = ""
        if not uploads and not server_path:
            self._refuse(
                "Choose files to upload, or type the path of a file or folder on the server, then click Import."
            )
            return
        refused = unsupported([u["name"] for u in uploads])
        if refused:
            self._refuse(
                f"Not a call log file: {', '.join(refused)}. Upload .json, .jsonl, .csv or .zip files; "
                "nothing was imported."
            )
            return
        steps = self._server_steps(server_path)
        if steps is None:
            return
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
            self._import_failed(error, steps)
            return
        finally:
            if temp is not None:
                shutil.rmtree(temp, ignore_errors=True)
            self.import_button.disabled = False
        self._import_done(report, steps, time.monotonic() - started)

    def _import_failed(self, error: Exception, steps: list[ImportStep]) -> None:
        """Say which file failed and what the files before it brought in (the failed file changed nothing)."""
        done = getattr(error, "report", ImportReport())
        name = getattr(error, "file", "the upload")
        self.progress.bar_style = "danger"
        self.phase.value = ""
        several = len(getattr(error, "files", [])) > 1
        before = "them" if several else "it"
        kept = (
            f" The {files_word(done.files)} before {before} imported ({done.imported} new rows)." if done.files else ""
        )
        nothing = "Nothing from these files was imported." if several else "Nothing from this file was imported."
        self._refuse(f"Could not import {name}: {explain(error)} {nothing}{kept}")
        if done.files:
            self._show_import(done, steps)

    def _import_done(self, report: ImportReport, steps: list[ImportStep], seconds: float) -> None:
        self.progress.value = 100
        if report.imported + report.duplicates == 0:  # a wrong file is an error, never a green "Done"
            self.progress.bar_style = "danger"
            self.phase.value = ""
            self._refuse(nothing_imported(self.ledger, steps))
        else:
            self.progress.bar_style = "success"
            self.phase.value = html.escape(f"Done: {files_word(report.files)} in {seconds:.1f} s.")
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
        summary = ""
        names = {s.name for s in steps}
        if report.quarantined:
            summary = quarantine_reasons_html(quarantine_reasons(self.ledger, names), self.locale)
            self.quarantine.source = quarantine_rows(self.ledger, names)
            self.quarantine.show()
        self.quarantine.widget.layout.display = None if report.quarantined else "none"
        self.import_result.value = f'<div class="cc-cards">{import_cards_html(report)}</div>{summary}'
        self.show_spend()

    def _quarantine_html(self, rows: pd.DataFrame) -> str:
        return quarantine_table_html(rows, self.locale)

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
        """This settlement's cards and all calls by status; the blocked calls go to their own long list."""
        calls = report.blocked_calls
        shown = bool(report.blocked and calls is not None and len(calls))
        if shown:
            self.blocked.source = frame_rows(calls.reset_index(drop=True))
            self.blocked.show()
        self.blocked.widget.layout.display = None if shown else "none"
        balance = (
            None
            if self.ledger.agreement is Agreement.MCA
            else fmt.money(self.ledger.balance(), self.currency, self.locale)
        )
        return settlement_html(
            report, unrated, balance=balance, blocked_shown=shown, currency=self.currency, locale=self.locale
        )

    def _blocked_html(self, calls: pd.DataFrame) -> str:
        return blocked_table_html(calls, self.currency, self.locale)

    # ---- spend ----

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
        for frame in (users, places, months):
            whole_minutes(frame)
        months = months.assign(label=[fmt.month(m, self.locale) for m in pd.to_datetime(months["month"])])
        self.spend.value = spend_html(
            users, places, months, by_report_dimensions, currency=self.currency, locale=self.locale
        )
        self.charts.show([] if months.empty else [charts.spend_by_month_chart(months, self.currency, self.locale)])


def build_usage_page(ledger: Ledger, *, locale: str | None = None) -> UsagePage:
    """The Usage page for `ledger`."""
    return UsagePage(ledger, locale=locale)
