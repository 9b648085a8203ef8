"""Step 1 and Step 3: bring the tenant in from files the admin downloads today, without a Graph connection.

Choose the files, see what each one is, a few of its rows and every problem (a long list: summary, pages, CSV
download), then import. The rules live in `licensing.tenant_files`; nothing is stored until Import.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd

from ..credits.ledger import Ledger
from ..errors import CommCreditsError
from ..licensing.tenant_files import UploadedFile, check_tenant_files, import_tenant_files
from ..rows import frame_rows
from . import format as fmt
from .long_list import LongList

log = logging.getLogger(__name__)

WHERE_TO_GET_THEM = (
    "<style>.cc-tenant-file { overflow-x: auto; margin: 6px 0; }</style>"  # sample rows scroll on a phone
    '<div class="cc-hint"><b>Which files:</b> the <b>active users export</b> from the Microsoft 365 admin center '
    "(Users › Active users › Export users: who, and their licenses); the seats from Graph "
    "<code>GET /subscribedSkus</code> saved as JSON (Graph Explorer, signed in as an admin) or Graph "
    "<code>GET /users</code> JSON instead of the export; and the <b>phone numbers export</b> from the Teams admin "
    "center (Voice › Phone numbers › Export). Upload them together; a newer export imported later updates the "
    "tenant. Nothing is stored until you click Import.</div>"
)


def problems_frame(problems) -> pd.DataFrame:
    rows = []
    for p in problems:
        file, _, row = p.record.partition(" row ")
        rows.append({"File": file, "Row": row, "User": p.key or "", "Column": p.field, "Problem": p.message})
    return pd.DataFrame(rows, columns=["File", "Row", "User", "Column", "Problem"])


class TenantFilesForm:
    """Upload, preview, problems, import; `on_imported()` runs after an import (the page re-reads the tenant)."""

    def __init__(self, ledger: Ledger, on_imported: Callable[[], None] = lambda: None, *, locale: str | None = None):
        self.ledger = ledger
        self.on_imported = on_imported
        self.locale = locale or fmt.display_locale()
        self.uploads: list[UploadedFile] = []
        self.upload = widgets.FileUpload(
            accept=".csv,.json", multiple=True, description="Choose files", layout=widgets.Layout(width="auto")
        )
        self.upload.add_class("cc-tenant-upload")
        self.preview = widgets.HTML()
        self.preview.add_class("cc-tenant-preview")
        self.problems = LongList(
            frame_rows(pd.DataFrame()),
            self._problems_html,
            noun="problems",
            filename="tenant-import-problems.csv",
            css="cc-tenant-problems",
            locale=self.locale,
        )
        self.problems.widget.layout.display = "none"
        self.import_button = widgets.Button(
            description="Import",
            button_style="primary",
            icon="upload",
            disabled=True,
            layout=widgets.Layout(width="auto"),
        )
        self.import_button.add_class("cc-tenant-import")
        self.status = widgets.HTML()
        self.status.add_class("cc-tenant-status")
        self.upload.observe(self._on_upload, names="value")
        self.import_button.on_click(self._on_import)
        self.widget = widgets.VBox(
            [
                widgets.HTML('<h3 class="cc-section">Your tenant from files</h3>' + WHERE_TO_GET_THEM),
                widgets.HBox([self.upload, self.import_button]),
                self.preview,
                self.problems.widget,
                self.status,
            ]
        )
        self.widget.add_class("cc-tenant-files")

    def _on_upload(self, change=None) -> None:
        files = [UploadedFile(f["name"], bytes(f["content"])) for f in self.upload.value]
        self.check(files)

    def check(self, files: list[UploadedFile]) -> None:
        """Read and check `files` (as choosing them does) and show what Import would do."""
        self.uploads = files
        self.status.value = ""
        try:
            checked = check_tenant_files(self.ledger, files)
        except Exception as error:  # noqa: BLE001 - the page must explain, never crash
            log.exception("tenant file check failed")
            self._fail(f"The files could not be read ({type(error).__name__}). Nothing was imported.")
            return
        self.preview.value = self._preview_html(checked)
        problems = checked.problems
        self.problems.widget.layout.display = None if problems else "none"
        if problems:
            self.problems.source = frame_rows(problems_frame(problems))
            self.problems.show()
        ready = bool(files) and not problems and bool(checked.users or checked.phones)
        self.import_button.disabled = not ready
        self.import_button.description = (
            f"Import {len(files)} file{'s' if len(files) != 1 else ''}" if files else "Import"
        )
        if problems:
            self.status.value = fmt.error_html(
                f"Nothing can be imported yet: {fmt.count(len(problems), self.locale)} problem"
                f"{'s' if len(problems) != 1 else ''} (listed above, with the file, row and column). Fix them in the "
                "file or export again, then choose the files again."
            )

    def _preview_html(self, checked) -> str:
        parts = []
        for f in checked.files:
            sample = pd.DataFrame(f.sample)
            table = (
                fmt.html_table(sample, css_class="cc-table cc-tenant-sample", locale=self.locale) if len(sample) else ""
            )
            n = len(f.problems)
            bad = f" · {fmt.count(n, self.locale)} problem{'s' if n != 1 else ''}" if n else ""
            note = f" · {html.escape(f.note)}" if f.note else ""
            parts.append(
                f'<div class="cc-tenant-file"><b>{html.escape(f.name)}</b>: {html.escape(f.label)} · '
                f"{fmt.count(f.rows, self.locale)} row{'s' if f.rows != 1 else ''} ready{bad}{note}{table}</div>"
            )
        return "".join(parts)

    def _problems_html(self, rows: pd.DataFrame) -> str:
        return fmt.html_table(rows, css_class="cc-table cc-tenant-problem-rows", locale=self.locale)

    def _fail(self, message: str) -> None:
        self.import_button.disabled = True
        self.status.value = fmt.error_html(message)

    def _on_import(self, _button=None) -> None:
        self.import_button.disabled = True  # a second click would import the same files again
        try:
            stored = import_tenant_files(self.ledger, self.uploads)
        except CommCreditsError as error:
            self._fail(str(error))
            return
        except Exception as error:  # noqa: BLE001
            log.exception("tenant import failed")
            self._fail(
                f"Something went wrong ({type(error).__name__}). Nothing was imported from the file that failed."
            )
            return
        lines = "".join(
            f"<li>{html.escape(source)}: {fmt.count(r.users, self.locale)} users"
            f"{', ' + fmt.count(r.skus, self.locale) + ' subscriptions' if r.skus else ''}, "
            f"{fmt.count(r.changes, self.locale)} changes recorded</li>"
            for source, r in stored
        )
        self.status.value = f'<div class="cc-success cc-tenant-imported">Imported:<ul>{lines}</ul></div>'
        self.on_imported()
