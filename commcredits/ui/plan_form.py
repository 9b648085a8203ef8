"""What Step 1 and Step 3 share: the plan form (readiness, plan, apply, downloads, errors); its words are in `ui.plan_view`.

The forms collect a selection and a change, then show what `commcredits.plans` makes of it: the plan, the
problems in words, downloads for Graph / PowerShell / a spreadsheet, and `record_plan_done`. Rules (seats, usage
locations, what needs what) live in the domain; this module only words the result.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd

from ..countries import country_names
from ..credits.ledger import Ledger
from ..errors import CommCreditsError, InvalidInput
from ..licensing.exports import export_csv, export_graph_batches, export_powershell
from ..licensing.plans import Change, Plan, Selection, plan_license_changes, record_plan_done
from ..licensing.readiness import readiness_summary
from ..rows import frame_rows
from . import format as fmt
from . import m365 as m365_ui
from .kit import html_part, tagged
from .long_list import LongList
from .plan_view import downloads_html, left_out_csv_frame, left_out_table_html, plan_html
from .tenant_files import TenantFilesForm

log = logging.getLogger(__name__)

LABEL_WIDTH = {"description_width": "190px"}
FIELD_WIDTH = "620px"
ERROR_MARGIN = "0 0 0 198px"
BUTTON_ROW_MARGIN = "10px 0 6px 198px"
APPLY_HINT = (
    '<div class="cc-hint"><b>Apply in Microsoft 365</b> makes these changes in your tenant through '
    "Microsoft Graph and records what Microsoft 365 accepted (connect on the Microsoft 365 page). Or make "
    "them yourself with the Graph batch, the PowerShell script or the spreadsheet below, then "
    "<b>Record as done</b>: that only records them here and changes nothing in Microsoft 365.</div>"
)

LICENSE_STYLE = """<style>
.cc-problems { background: #fff4ce; border: 1px solid #f1c21b; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.cc-problems ul { margin: 4px 0 0 18px; padding: 0; }
.cc-plan-table td ul { margin: 0; padding-left: 16px; }
.cc-plan-table .cc-upn, .cc-muted { color: #555; font-size: 12px; }
.cc-downloads { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 6px 0; }
.cc-downloads a { padding: 5px 12px; border-radius: 4px; background: #eff6fc; color: #0f548c; border: 1px solid #c7e0f4;
                  text-decoration: none; font-size: 13px; }
.cc-hint { color: #555; font-size: 13px; margin: 2px 0 6px; }
.cc-notice { border-left: 4px solid #0f548c; background: #eff6fc; padding: 8px 12px; margin: 4px 0 8px; }
.cc-notice.cc-notice-warning { border-left-color: #a4262c; background: #fdf3f4; }
.cc-card.cc-bad .cc-value { color: #a4262c; }
.cc-card.cc-good .cc-value { color: #0b6a0b; }
.cc-plan-table { max-height: 26em; overflow-y: auto; }
.cc-plan-table thead th { position: sticky; top: 0; }
.cc-seats-table td.cc-num, .cc-seats-table th.cc-num { text-align: right; font-variant-numeric: tabular-nums; }
.cc-seats-table .cc-none { color: #a4262c; font-weight: 600; }
.cc-plan-table .cc-missing li { color: #8a3b00; }
</style>"""


# ---------------------------------------------------------------------------------------------- shared flow


class PlanForm:
    """What Step 1 and Step 3 share: readiness at the top, plan / apply / downloads, status and errors."""

    file_prefix = "license-plan"

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.store = ledger.store
        self.locale = locale or fmt.display_locale()
        self.plan: Plan | None = None
        self.readiness_box = html_part("cc-readiness")
        self.status = html_part("cc-status")
        self.usage_location = tagged(
            widgets.Dropdown(
                description="Usage location",
                options=[("Leave as it is", "")]
                + [(f"{name} ({code})", code) for code, name in country_names().items()],
                value="",
                style=LABEL_WIDTH,
                layout=widgets.Layout(width=FIELD_WIDTH),
            ),
            "cc-usage-location",
        )
        self.errors: dict[str, widgets.HTML] = {}
        self.plan_button = tagged(
            widgets.Button(description="Plan changes", button_style="primary", icon="list"), "cc-plan-button"
        )
        self.plan_box = self._plan_section()
        self.plan_button.on_click(self._guarded(self._on_plan))
        self.apply_button.on_click(self._guarded(self._on_apply))
        self.m365_button.on_click(self._guarded(self._on_apply_m365))
        self.usage_location.observe(self._inputs_changed, names="value")
        self.files_box = self._tenant_files_section()

    def _plan_section(self) -> widgets.VBox:
        """The plan once made: the summary, the two ways to finish, downloads, every user left out (hidden)."""
        # two clearly different ways to finish: the workbook makes the changes, or the admin made them elsewhere
        self.m365_button = tagged(
            widgets.Button(
                description="Apply in Microsoft 365",
                button_style="success",
                icon="cloud-upload",
                layout=widgets.Layout(width="auto"),
            ),
            "cc-apply-m365",
        )
        self.apply_button = tagged(
            widgets.Button(description="Record as done", icon="check", layout=widgets.Layout(width="auto")),
            "cc-apply",
        )
        self.plan_view = html_part("cc-plan")
        self.downloads = html_part("cc-exports")
        self.apply_hint = widgets.HTML(APPLY_HINT)
        # every user left out, a page at a time and as a CSV (the sentences above the plan name only a few)
        self.left_out = LongList(
            frame_rows(pd.DataFrame()),
            self._left_out_html,
            noun="users",
            filename=f"{self.file_prefix}-users-left-out.csv",
            export=left_out_csv_frame,
            css="cc-left-out-list",
            locale=self.locale,
        )
        self.left_out_box = widgets.VBox(
            [widgets.HTML('<h3 class="cc-section">Users left out</h3>'), self.left_out.widget]
        )
        # the summary, then the actions, then the full lists (the plan scrolls in its own box, so they stay in view)
        box = tagged(
            widgets.VBox(
                [
                    self.plan_view,
                    widgets.HBox([self.m365_button, self.apply_button]),
                    self.apply_hint,
                    self.downloads,
                    self.left_out_box,
                ]
            ),
            "cc-plan-box",
        )
        box.layout.display = "none"
        return box

    def _tenant_files_section(self) -> widgets.Accordion:
        self.tenant_files = TenantFilesForm(self.ledger, self._tenant_imported, locale=self.locale)
        # an empty tenant starts here; a tenant already imported keeps the files one click away
        has_users = bool(self.store.query("SELECT count(*) FROM tenant_user")[0][0])
        return tagged(
            widgets.Accordion(
                children=[self.tenant_files.widget],
                titles=("Update your tenant from files",),
                selected_index=None if has_users else 0,
            ),
            "cc-tenant-files-box",
        )

    def _tenant_imported(self) -> None:
        self.reset()
        self.refresh()

    def _error_field(self, name: str) -> widgets.HTML:
        error = widgets.HTML(layout=widgets.Layout(margin=ERROR_MARGIN))
        error.add_class(f"cc-error-{name.replace('_', '-')}")
        self.errors[name] = error
        return error

    def _page(self, *parts: widgets.Widget) -> widgets.VBox:
        # status and plan sit right under the inputs' button so the result of a click is in view
        return widgets.VBox(
            [
                widgets.HTML(fmt.STYLE + LICENSE_STYLE),
                self.readiness_box,
                self.files_box,
                *parts,
                self.status,
                self.plan_box,
            ]
        )

    # ---- readiness ----

    def refresh_readiness(self) -> None:
        summary = readiness_summary(self.ledger)
        cards = "".join(
            f'<div class="cc-card {css}"><div class="cc-label">{label}</div>'
            f'<div class="cc-value">{fmt.count(value, self.locale)}</div></div>'
            for label, value, css in (
                ("Users", summary.users, "cc-users-count"),
                ("Can dial out", summary.ready, "cc-ready-count" + (" cc-good" if summary.ready else "")),
                ("Cannot dial out", summary.not_ready, "cc-not-ready-count" + (" cc-bad" if summary.not_ready else "")),
            )
        )
        self.readiness_box.value = (
            f'<div class="cc-cards">{cards}</div><p class="cc-readiness-sentence">{html.escape(summary.sentence)}</p>'
        )

    # ---- state ----

    def selection(self) -> Selection | None:
        """The users the form is about, or None (and an error beside the field) when none is chosen."""
        raise NotImplementedError

    def change(self) -> Change | None:
        raise NotImplementedError

    def show_error(self, field: str, message: str) -> None:
        self.errors[field].value = fmt.error_html(message)

    def clear_errors(self) -> None:
        for error in self.errors.values():
            error.value = ""
        self.status.value = ""

    def reset(self) -> None:
        """Forget the plan and the messages shown (the inputs stay)."""
        self.plan = None
        self.plan_box.layout.display = "none"
        self.clear_errors()

    def _inputs_changed(self, _change=None) -> None:
        """A plan shown no longer matches the inputs: hide it, so Apply cannot apply something else."""
        if self.plan is not None and not getattr(self, "_syncing", False):  # a refresh is not the admin's change
            self.plan = None
            self.plan_box.layout.display = "none"
            self.status.value = '<div class="cc-hint">The choices changed: plan again.</div>'

    # ---- handlers ----

    def _guarded(self, handler: Callable) -> Callable:
        """Show any failure in the form: no traceback ever reaches the page."""

        def run(_button=None):
            try:
                handler()
            except CommCreditsError as error:
                self.status.value = fmt.error_html(str(error))
            except Exception as error:  # noqa: BLE001 - the page must explain, never crash
                log.exception("license form failed")
                self.status.value = fmt.error_html(
                    f"Something went wrong ({type(error).__name__}: {error}). "
                    "Nothing was changed; reload the page and try again."
                )

        return run

    def _on_plan(self) -> None:
        self.clear_errors()
        self.plan = None
        self.plan_box.layout.display = "none"
        selection, change = self.selection(), self.change()
        if selection is None or change is None:
            self.status.value = fmt.error_html("Please fix the problems above.")
            return
        try:
            plan = plan_license_changes(self.ledger, selection, change)
        except InvalidInput as error:
            field = error.field if error.field in self.errors else None
            if field:
                self.show_error(field, error.message)
                self.status.value = fmt.error_html("Please fix the problems above.")
            else:
                self.status.value = fmt.error_html(error.message)
            return
        plan_html, downloads_html = self._plan_html(plan), self._downloads_html(plan)
        self.plan = plan
        self.plan_view.value = plan_html
        self.downloads.value = downloads_html
        self.apply_button.disabled = plan.nothing_to_do
        self.apply_button.description = "Record as done"
        self.m365_button.disabled = plan.nothing_to_do or not m365_ui.can_apply()
        self.m365_button.tooltip = None if m365_ui.can_apply() else "Connect on the Microsoft 365 page first"
        for part in (self.apply_hint, self.apply_button, self.m365_button):
            part.layout.display = "none" if plan.nothing_to_do else None
        left_out = plan.left_out_users.reset_index(drop=True)
        self.left_out_box.layout.display = "none" if left_out.empty else None
        if not left_out.empty:
            self.left_out.source = frame_rows(left_out)
            self.left_out.show()
        self.plan_box.layout.display = None
        self._after_plan(plan)
        if not plan.nothing_to_do:  # the next step, for keyboard users
            (self.apply_button if self.m365_button.disabled else self.m365_button).focus()

    def _after_plan(self, plan: Plan) -> None:
        """Hook for forms that show more after planning."""

    def _on_apply(self) -> None:
        plan = self.plan
        if plan is None or plan.nothing_to_do:
            return
        self.apply_button.disabled = True  # a second click would find the plan stale anyway
        try:
            applied = record_plan_done(self.ledger, plan)
        except CommCreditsError as error:
            self.apply_button.disabled = False
            self.status.value = fmt.error_html(str(error))
            return
        self.apply_button.description = "Recorded"
        self.m365_button.disabled = True
        self.refresh()
        users = plan.users
        self.status.value = (
            f'<div class="cc-success">Recorded as done: {applied.changes} change{"s" if applied.changes != 1 else ""} '
            f"for {users} user{'s' if users != 1 else ''}. Nothing was changed in Microsoft 365 by the workbook. "
            f"{html.escape(readiness_summary(self.ledger).sentence)}</div>"
        )

    def _on_apply_m365(self) -> None:
        from ..m365.apply import apply_plan_m365

        plan = self.plan
        if plan is None or plan.nothing_to_do:
            return
        self.m365_button.disabled = self.apply_button.disabled = True  # the plan is used up either way
        self.status.value = '<div class="cc-hint">Sending the changes to Microsoft 365…</div>'
        try:
            report = apply_plan_m365(self.ledger, plan, m365_ui.current_connection())
        except Exception:
            self.m365_button.disabled = self.apply_button.disabled = False  # nothing was sent or recorded
            raise
        self.m365_button.description = "Sent to Microsoft 365"
        self.refresh()
        self.status.value = m365_ui.apply_result_html(report) + (
            f'<p class="cc-readiness-after">{html.escape(readiness_summary(self.ledger).sentence)}</p>'
        )

    def refresh(self) -> None:
        """Re-read the tenant (after apply, or when the page is shown again)."""
        self.refresh_readiness()

    # ---- plan in words ----

    def _plan_html(self, plan: Plan) -> str:
        return plan_html(plan, self.locale)

    def _left_out_html(self, users: pd.DataFrame) -> str:
        return left_out_table_html(users, self.locale)

    def exports(self, plan: Plan | None = None) -> dict[str, str]:
        """File name -> content of the three downloads for `plan` (default: the plan shown)."""
        import json

        plan = plan or self.plan
        if plan is None:
            return {}
        return {
            f"{self.file_prefix}-graph-batch.json": json.dumps(export_graph_batches(plan), indent=2),
            f"{self.file_prefix}.ps1": export_powershell(plan),
            f"{self.file_prefix}.csv": export_csv(plan),
        }

    def _downloads_html(self, plan: Plan) -> str:
        return "" if plan.nothing_to_do else downloads_html(self.exports(plan))
