"""The Microsoft 365 page: connect (app registration or an admin's device-code sign-in), the permission self-test,
the last sync and what it brought, and Sync now with progress. Also the connection Step 1 and Step 3 apply with.

Nothing here imports the Graph SDK when the page is built: that happens on the first click.
"""

from __future__ import annotations

import html
import logging
import threading

import ipywidgets as widgets
import pandas as pd

from ..credits.ledger import Ledger
from ..errors import CommCreditsError, TenantImportError
from ..m365.settings import is_configured, load_settings
from ..rows import frame_rows
from . import format as fmt
from .kit import html_part, tagged
from .long_list import LongList
from .m365_connect import GUIDE_LINK, REGISTER_STEPS, ConnectPanel, checklist_html, guide_html

log = logging.getLogger(__name__)

STYLE = """<style>
.cc-m365 .cc-hint { color: #555; font-size: 13px; margin: 2px 0 8px; }
.cc-m365 .cc-device-code { font: 600 26px ui-monospace, Menlo, Consolas, monospace; letter-spacing: 3px;
    background: #eff6fc; border: 1px solid #c7e0f4; border-radius: 6px; padding: 6px 14px; display: inline-block; }
.cc-m365 .cc-ok { color: #0b6a0b; font-weight: 600; }
.cc-m365 .cc-missing { color: #a4262c; font-weight: 600; }
.cc-m365 .cc-notice { border-left: 4px solid #0f548c; background: #eff6fc; padding: 8px 12px; margin: 4px 0 8px; }
.cc-m365 .cc-unknown { color: #555; }
.cc-m365 a { color: #0f548c; text-decoration: underline; }
.cc-m365 .cc-m365-guide { margin-top: 16px; border-top: 1px solid #ddd; padding-top: 8px; }
.cc-m365 .cc-m365-guide pre { max-width: 100%; overflow-x: auto; }
.cc-m365 :not(pre) > code { overflow-wrap: anywhere; }  /* a long setting name wraps on a phone */
.cc-apply-results td { vertical-align: top; }
</style>"""

_state: dict = {"connection": None}  # the connection made in this kernel (one per browser tab in Voila)


def current_connection():
    """This kernel's connection: an admin's sign-in made on this page, else the configured app registration."""
    if _state["connection"] is None:
        from ..m365.settings import connect_from_settings

        _state["connection"] = connect_from_settings()
    return _state["connection"]


def can_apply() -> bool:
    """Is Apply in Microsoft 365 possible from this kernel without asking anyone? (cheap: no SDK import)"""
    try:
        return _state["connection"] is not None or is_configured(load_settings())
    except CommCreditsError:
        return False


def apply_result_html(report) -> str:
    """What Apply in Microsoft 365 did, per user, in words."""
    rows = "".join(
        f'<tr class="cc-result-{r.status}"><td>{html.escape(r.user_principal_name)}</td>'
        f'<td class="{"cc-ok" if r.status == "applied" else "cc-missing"}">'
        f"{html.escape(r.status.replace('_', ' ').capitalize())}</td><td>{html.escape(r.message)}</td></tr>"
        for r in report.results
    )
    css = "cc-success" if not report.failed else "cc-problems"
    recorded = (
        (
            f"{report.changes_recorded} change{'s' if report.changes_recorded != 1 else ''} recorded, "
            f"applied by {report.applied_by}."
        )
        if report.changes_recorded
        else ""
    )
    return (
        f'<div class="{css} cc-m365-result"><b>{html.escape(report.summary())}</b> {html.escape(recorded)}</div>'
        '<table class="cc-table cc-apply-results"><thead><tr><th>User</th><th>In Microsoft 365</th>'
        f"<th>What happened</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# Graph's property names, as the Microsoft 365 admin center labels them (the technical name stays in brackets)
FIELD_WORDS = {
    "userPrincipalName": "Username",
    "displayName": "Display name",
    "usageLocation": "Usage location",
    "id": "Object ID",
    "assignedLicenses": "Licenses",
    "skuId": "License GUID",
    "skuPartNumber": "License string ID",
    "disabledPlans": "Apps turned off",
    "phoneNumber": "Phone number",
}


def field_words(field: str) -> str:
    """'usageLocation' -> 'Usage location (usageLocation)'; 'assignedLicenses[2].skuId' -> 'License GUID (…)'."""
    words = FIELD_WORDS.get(field.rsplit(".", 1)[-1])
    return f"{words} ({field})" if words else field


def import_problems_frame(error: TenantImportError) -> pd.DataFrame:
    """Every problem of a refused tenant import, one row each: where, whose, which field, what is wrong."""
    return pd.DataFrame(
        [(p.record, p.key or "", field_words(p.field), p.message) for p in error.problems],
        columns=["Where", "User or license", "Field", "Problem"],
    )


def import_problems_summary_html(problems: pd.DataFrame, locale: str | None = None) -> str:
    """The problems counted by field (most frequent first): what an admin reads before the rows."""
    counts = problems.groupby("Field").size().sort_values(ascending=False, kind="stable")
    n = len(problems)
    rows = "".join(
        f'<tr><td>{html.escape(str(field))}</td><td class="cc-number">{fmt.count(count, locale)}</td></tr>'
        for field, count in counts.items()
    )
    return (
        fmt.error_html(
            f"Nothing was imported: Microsoft 365 sent users or licenses with {fmt.count(n, locale)} "
            f"problem{'s' if n != 1 else ''}, listed below. Fix them in the admin center, then sync again."
        )
        + '<table class="cc-table cc-import-problem-fields"><thead><tr><th>Field</th><th class="cc-number">'
        f"Problems</th></tr></thead><tbody>{rows}</tbody></table>"
    )


class M365Page:
    """Connect, self-test, last sync, Sync now."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.locale = locale or fmt.display_locale()
        self.settings = load_settings()
        self.connection_status = html_part("cc-connection-status")
        self.connect = ConnectPanel(self.settings)
        self.connect_button, self.device_button = self.connect.connect_button, self.connect.device_button
        self.device_box = html_part("cc-device")
        self.permissions = html_part("cc-self-test", value=checklist_html())
        self.last_sync = html_part("cc-last-sync")
        self.sync_button = tagged(
            widgets.Button(description="Sync now", icon="refresh", button_style="success"), "cc-sync-now"
        )
        self.sync_why = html_part("cc-sync-why")
        self.progress = tagged(
            widgets.IntProgress(value=0, min=0, max=100, layout=widgets.Layout(width="420px", max_width="100%")),
            "cc-sync-progress",
        )
        self.phase = html_part("cc-sync-phase")
        self.status = html_part("cc-status")
        self.problems = LongList(
            frame_rows(pd.DataFrame()),
            self._problems_html,
            noun="problems",
            filename="tenant-import-problems.csv",
            css="cc-import-problems",
            locale=self.locale,
        )
        self.problems.widget.layout.display = "none"
        self.connect_button.on_click(self._guarded(self._on_connect_app))
        self.device_button.on_click(self._guarded(self._on_device_code))
        self.sync_button.on_click(self._guarded(self._on_sync))
        self.connect.method.observe(lambda _change: self.refresh(), names="value")
        self.widget = tagged(widgets.VBox(self._parts()), "cc-m365")
        self.refresh()

    def _parts(self) -> list[widgets.Widget]:
        """The page top to bottom: connection, what to register, sync, then the setup guide."""
        return [
            widgets.HTML(fmt.STYLE + STYLE),
            widgets.HTML('<h3 class="cc-section">Connection</h3>'),
            self.connection_status,
            self.connect.widget,
            self.device_box,
            widgets.HTML(
                '<h3 class="cc-section">What to register in Microsoft Entra ID</h3>'
                + REGISTER_STEPS
                + '<div class="cc-hint">The self-test below shows each permission granted or missing once '
                "you connect.</div>"
            ),
            self.permissions,
            widgets.HTML(
                '<h3 class="cc-section">Sync</h3><div class="cc-hint">Brings users, licenses, seats and '
                "PSTN call logs since the last sync, rates and settles the calls. Schedule it with "
                f"<code>commcredits sync</code> ({GUIDE_LINK}).</div>"
            ),
            self.last_sync,
            widgets.HBox([self.sync_button, self.progress], layout=widgets.Layout(flex_flow="row wrap")),
            self.sync_why,
            self.phase,
            self.status,
            self.problems.widget,
            widgets.HTML(guide_html()),
        ]

    # ---- showing ----

    def refresh(self) -> None:
        s, connection = self.connect.current(), _state["connection"]
        if connection is not None:
            text = f"Connected as {connection.who()} ({'app-only' if connection.mode == 'app' else 'admin sign-in'})."
        elif is_configured(s):
            text = (
                f"App registration {s.client_id or '(credential from COMMCREDITS_M365_CREDENTIAL)'} for tenant "
                f"{s.tenant_id or '-'} is configured. Connect to run the permission self-test."
            )
        else:
            text = (
                "Not configured. Register an app in Microsoft Entra ID (the steps are below), then enter its "
                "tenant and application (client) IDs here and choose how to sign in."
            )
        self.connection_status.value = (
            f'<div class="cc-notice">{html.escape(text)}</div><div class="cc-hint">Call logs can only be read by '
            "the app registration (application permission CallRecord-PstnCalls.Read.All); an admin's own sign-in "
            "can read users and licenses and apply plans, and their name is recorded with every change.</div>"
        )
        self.connect.update()
        self.sync_button.disabled = connection is None and not is_configured(s)
        self.sync_why.value = (
            '<div class="cc-hint cc-disabled-why">Connect first: Sync reads Microsoft 365 through '
            "the connection above. Without one, import files in Step 1 and on the Usage page.</div>"
            if self.sync_button.disabled
            else ""
        )
        self.last_sync.value = self._last_sync_html()

    def _last_sync_html(self) -> str:
        from ..m365.sync import last_sync

        last = last_sync(self.ledger)
        if last is None:
            return '<p class="cc-hint">No sync yet.</p>'
        when = fmt.instant(last["finished_at"] if last["finished_at"] is not None else last["started_at"])
        state = {"ok": "Last sync", "failed": "Last sync failed", "interrupted": "Last sync was interrupted"}[
            last["status"]
        ]
        message = last["message"] or "It will resume where it stopped."
        return (
            f"<p><b>{html.escape(state)}</b> · {html.escape(when)} · by {html.escape(last['started_by'])}</p>"
            f'<p class="cc-last-sync-message">{html.escape(str(message))}</p>'
        )

    def _guarded(self, handler):
        def run(_button=None):
            self.problems.widget.layout.display = "none"
            try:
                handler()
            except TenantImportError as error:  # every problem, a page at a time, not the first 20
                self.show_import_problems(error)
            except CommCreditsError as error:
                self.status.value = fmt.error_html(str(error))
            except Exception as error:  # noqa: BLE001 - the page explains, never shows a traceback
                log.exception("Microsoft 365 page failed")
                self.status.value = fmt.error_html(f"Something went wrong ({type(error).__name__}: {error}).")

        return run

    def show_import_problems(self, error: TenantImportError) -> None:
        problems = import_problems_frame(error)
        self.status.value = import_problems_summary_html(problems, self.locale)
        self.problems.source = frame_rows(problems)
        self.problems.show()
        self.problems.widget.layout.display = None

    def _problems_html(self, problems: pd.DataFrame) -> str:
        return fmt.html_table(problems, css_class="cc-table cc-import-problem-rows")

    # ---- actions ----

    def _on_connect_app(self) -> None:
        from ..m365.settings import connect_with, keep_secret

        self.status.value = ""
        settings, method, typed = self.connect.current(), self.connect.method.value, self.connect.secret.value
        kept = ""
        if method == "secret" and typed.strip():
            kept = (
                "The secret is kept in the OS keyring."
                if keep_secret(settings.client_id, typed.strip())
                else "This machine has no OS keyring: the secret is used for this session only. To keep it, set "
                "COMMCREDITS_M365_CLIENT_SECRET in the environment the dashboard runs in."
            )
        self.connect.secret.value = ""  # never left in the page's state
        self._use(connect_with(settings, method, typed_secret=typed))
        if kept:
            self.status.value = f'<div class="cc-hint cc-secret-kept">{html.escape(kept)}</div>'

    def _use(self, connection) -> None:
        from ..m365.permissions import check_permissions

        _state["connection"] = connection
        self.permissions.value = checklist_html(check_permissions(connection))
        self.refresh()

    def _on_device_code(self) -> None:
        from ..m365.settings import connect_with

        self.status.value = ""
        connection = connect_with(self.connect.current(), "device", prompt=self.show_device_code)
        self.device_box.value = '<p class="cc-hint">Asking Microsoft for a sign-in code…</p>'

        def sign_in():  # waits until the admin has signed in, so not on the kernel's thread
            try:
                connection.who()
                self.device_box.value = '<p class="cc-ok">Signed in.</p>'
                self._use(connection)
            except Exception as error:  # noqa: BLE001
                self.device_box.value = fmt.error_html(f"Sign-in did not complete: {str(error).splitlines()[0]}")

        threading.Thread(target=sign_in, daemon=True).start()

    def show_device_code(self, verification_uri: str, user_code: str, expires_on) -> None:
        """The device-code prompt: the code and the link, as Microsoft gives them."""
        link = html.escape(verification_uri)
        self.device_box.value = (
            f'<p>Open <a href="{link}" target="_blank" rel="noopener">{link}</a> and enter this code:</p>'
            f'<p><span class="cc-device-code">{html.escape(user_code)}</span></p>'
            f'<p class="cc-hint">Sign in with an admin account (License Administrator or User Administrator). '
            f"The code works until {html.escape(fmt.instant(expires_on))} UTC.</p>"
        )

    def _on_sync(self) -> None:
        from ..m365.sync import sync_m365

        self.status.value = ""
        self.sync_button.disabled = True
        try:
            connection = current_connection()
            connection.on_wait = lambda wait: setattr(
                self.phase,
                "value",
                (
                    f'<div class="cc-phase">Microsoft 365 is busy (HTTP {wait.status}): waiting {wait.seconds:.0f} s as '
                    "it asked…</div>"
                ),
            )
            report = sync_m365(self.ledger, connection, progress=self._progress)
            self.phase.value = ""  # the summary is under Last sync
            waited = (
                f" It waited {report.waited_seconds:.0f} s for Microsoft 365 throttling."
                if report.waited_seconds
                else ""
            )
            self.status.value = f'<div class="cc-success">Sync finished.{html.escape(waited)}</div>'
        finally:
            self.sync_button.disabled = False
            self.refresh()

    def _progress(self, text: str, fraction: float) -> None:
        self.progress.value = int(round(100 * fraction))
        self.phase.value = f'<div class="cc-phase">{html.escape(text)}</div>'


def build_m365_page(ledger: Ledger, *, locale: str | None = None) -> M365Page:
    return M365Page(ledger, locale=locale)
