"""The Microsoft 365 page's Connect section: what files work without a connection, the tenant and app (client)
ids, a choice of sign-in (client secret kept in the OS keyring or read from an environment variable, certificate
file, device code), the checklist of what to register in Entra ID, and the setup guide (docs/m365.md) on the page.

Rules live in m365/settings.py (why a sign-in is blocked, where a secret goes) and m365/graph_permissions.py
(the least permission for each job); this module only shows them.
"""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

import ipywidgets as widgets

from ..m365.graph_permissions import JOBS
from ..m365.settings import KEYRING_SERVICE, SECRET_ENV, SIGN_IN_METHODS, M365Settings, secret_source, sign_in_blocker

GUIDE_FILE = Path(__file__).resolve().parents[2] / "docs" / "m365.md"
LABELS = {"description_width": "190px"}

OFFLINE_NOTE = (
    '<div class="cc-notice cc-offline-note"><b>No connection is needed to use the workbook.</b> Step 1 imports the '
    "users and licenses the admin centers export, and the Usage page imports the PSTN call logs you download; "
    "everything else works from those files. Connecting only replaces the downloads, and lets Sync and "
    "“Apply in Microsoft 365” work from here.</div>"
)


def checklist_html(report=None) -> str:
    """What to register in Entra ID, one row per job with the least permission Graph documents for it; after a
    self-test, whether this connection has each one."""
    states = {c.what: c for c in report.checks} if report is not None else {}
    rows = []
    for job in JOBS:
        check = states.get(job.what)
        if check is None:
            state, css, detail = "Not checked", "cc-unknown", "Connect to run the self-test."
        else:
            state = "Granted" if check.ok else "Missing" if check.ok is False else "Could not tell"
            css, detail = ("cc-ok" if check.ok else "cc-missing"), check.detail
        kind = "Application only" if job.app_only else "Application (or delegated for an admin's sign-in)"
        also = ", ".join(sorted(job.also))
        rows.append(
            f'<tr class="cc-job-{job.key}"><td>{html.escape(job.what)}</td><td><code>{job.least}</code><div '
            f'class="cc-hint">{kind}; wider ones also work: {html.escape(also)}</div></td>'
            f'<td class="{css}">{state}</td><td>{html.escape(detail)}</td></tr>'
        )
    summary = f'<p class="cc-permission-summary">{html.escape(report.summary())}</p>' if report is not None else ""
    return (
        summary + '<table class="cc-table cc-stack cc-permissions"><thead><tr><th>What the workbook does</th><th>Least '
        "permission to register</th><th>State</th><th>What to do</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


REGISTER_STEPS = (
    '<ol class="cc-register-steps"><li>Microsoft Entra admin center › <b>App registrations</b> › <b>New '
    "registration</b> (single tenant). Copy the <b>Directory (tenant) ID</b> and the <b>Application (client) ID</b> "
    "into the fields above.</li><li><b>Certificates &amp; secrets</b>: upload a certificate (preferred) or create a "
    "client secret.</li><li><b>API permissions</b> › <b>Add a permission</b> › <b>Microsoft Graph</b> › "
    "<b>Application permissions</b>: add the permissions in the table below, then <b>Grant admin consent</b>.</li>"
    "<li>For the device code: <b>Authentication</b> › <b>Allow public client flows</b>: Yes, and the same permissions "
    "as <b>Delegated permissions</b> (call logs have none: only the app registration reads them).</li></ol>"
)


def guide_html() -> str:
    """docs/m365.md rendered on the page, so its link works wherever the dashboard runs."""
    try:
        import mistune

        # its tables are lists of sentences: on a phone each row becomes a block, as the permissions table does
        body = mistune.html(GUIDE_FILE.read_text(encoding="utf-8")).replace(
            "<table>", '<table class="cc-table cc-stack">'
        )
    except (OSError, ImportError):
        body = f"<p>The guide is docs/m365.md in the workbook's folder ({html.escape(str(GUIDE_FILE))}).</p>"
    return (
        f'<details id="cc-m365-guide" class="cc-m365-guide"><summary><b>Setup guide (docs/m365.md)</b>'
        f"</summary>{body}</details>"
    )


GUIDE_LINK = (
    '<a class="cc-guide-link" href="#cc-m365-guide" '
    "onclick=\"document.getElementById('cc-m365-guide').open = true\">the setup guide (docs/m365.md)</a>"
)


class ConnectPanel:
    """Fields, the sign-in choice, and one button per way to sign in; a disabled button says why beside it."""

    def __init__(self, settings: M365Settings):
        self.settings = settings
        self.tenant = self._text(
            "Tenant (directory) ID", "cc-tenant-id", settings.tenant_id, "contoso.onmicrosoft.com or its GUID"
        )
        self.client = self._text(
            "Application (client) ID", "cc-client-id", settings.client_id, "GUID from App registrations"
        )
        methods = [(words, key) for key, words in SIGN_IN_METHODS.items() if key != "credential" or settings.credential]
        default = "credential" if settings.credential else "certificate" if settings.certificate_path else "secret"
        self.method = widgets.RadioButtons(
            options=methods,
            value=default,
            description="Sign in with",
            style=LABELS,
            layout=widgets.Layout(width="auto"),
        )
        self.method.add_class("cc-sign-in-method")
        self.secret = widgets.Password(
            description="Client secret",
            placeholder="kept in the OS keyring, never in a file",
            style=LABELS,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        self.secret.add_class("cc-client-secret")
        self.certificate = self._text(
            "Certificate file (PEM)", "cc-certificate-path", settings.certificate_path, "/path/to/app-certificate.pem"
        )
        self.secret_hint, self.why = widgets.HTML(), widgets.HTML()
        self.why.add_class("cc-connect-why")
        self.connect_button = widgets.Button(
            description="Connect with the app registration",
            icon="plug",
            button_style="primary",
            layout=widgets.Layout(width="auto"),
        )
        self.connect_button.add_class("cc-connect-app")
        self.device_button = widgets.Button(
            description="Sign in as an admin (device code)", icon="user", layout=widgets.Layout(width="auto")
        )
        self.device_button.add_class("cc-connect-device")
        for field in (self.tenant, self.client, self.method, self.secret, self.certificate):
            field.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [
                widgets.HTML(OFFLINE_NOTE),
                self.tenant,
                self.client,
                self.method,
                self.secret,
                self.secret_hint,
                self.certificate,
                widgets.HBox([self.connect_button, self.device_button]),
                self.why,
            ]
        )
        self.update()

    @staticmethod
    def _text(description, css, value, placeholder) -> widgets.Text:
        field = widgets.Text(
            description=description,
            value=value or "",
            placeholder=placeholder,
            style=LABELS,
            layout=widgets.Layout(width="520px", max_width="100%"),
        )
        field.add_class(css)
        return field

    def current(self) -> M365Settings:
        """The settings with what is typed on the page (nothing typed here is written to a file)."""
        return replace(
            self.settings,
            tenant_id=self.tenant.value.strip() or None,
            client_id=self.client.value.strip() or None,
            certificate_path=self.certificate.value.strip() or None if self.method.value == "certificate" else None,
        )

    def update(self, _change=None) -> None:
        method, settings = self.method.value, self.current()
        self.secret.layout.display = None if method == "secret" else "none"
        self.secret_hint.layout.display = self.secret.layout.display
        self.certificate.layout.display = None if method == "certificate" else "none"
        source = secret_source(settings)
        where = {
            "environment": f"{SECRET_ENV} is set in the environment: it is used when the field is empty.",
            "keyring": "A secret for this client ID is in the OS keyring: leave the field empty to use it.",
        }
        self.secret_hint.value = (
            f'<div class="cc-hint" style="margin-left:198px">{where.get(source, "")} A secret '
            f"typed here goes to the OS keyring (service <code>{KEYRING_SERVICE}</code>, user "
            f"the client ID); where there is none, set <code>{SECRET_ENV}</code> instead."
            "</div>"
        )
        device = method == "device"
        self.connect_button.layout.display = "none" if device else None
        self.device_button.layout.display = None if device else "none"
        app_blocker = sign_in_blocker(settings, method if not device else "secret", self.secret.value)
        device_blocker = sign_in_blocker(settings, "device")
        self.connect_button.disabled = app_blocker is not None
        self.device_button.disabled = device_blocker is not None
        blocker = device_blocker if device else app_blocker
        self.why.value = (
            f'<div class="cc-hint cc-disabled-why">{html.escape(blocker)} See {GUIDE_LINK}.</div>' if blocker else ""
        )
