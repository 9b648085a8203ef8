"""The Microsoft 365 page and Apply in Microsoft 365 in Step 1 / Step 3, driven without a browser."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from graph_standin import spread_calls
from test_license_forms import NO_WAY_TO_CALL, fresh_tenant
from test_m365_apply import standin_for

from commcredits.ui import m365 as m365_ui
from commcredits.ui.credit_licenses import CreditLicensesForm
from commcredits.ui.licenses import LicensesForm
from commcredits.ui.m365 import M365Page


@pytest.fixture
def configured(monkeypatch, tmp_path):
    """Settings pointing at a stand-in; a fresh kernel state (no connection yet)."""
    for name in [n for n in os.environ if n.startswith("COMMCREDITS_M365_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COMMCREDITS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setattr(m365_ui, "_state", {"connection": None})

    def point_at(standin, roles=None):
        monkeypatch.setenv("COMMCREDITS_M365_BASE_URL", standin.base_url)
        monkeypatch.setenv("COMMCREDITS_M365_CREDENTIAL", "graph_standin:credential_from_env")
        monkeypatch.setenv("COMMCREDITS_M365_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
        if roles is not None:
            monkeypatch.setenv("STANDIN_ROLES", ",".join(roles))

    return point_at


def test_not_configured_page_says_what_to_do_and_offers_nothing_to_click(configured, tmp_path):
    page = M365Page(fresh_tenant(tmp_path / "t.duckdb"))
    assert "Not configured. Register an app in Microsoft Entra ID" in page.connection_status.value
    assert page.connect_button.disabled and page.sync_button.disabled and page.device_button.disabled
    # each disabled button says why, and files work without any of it
    assert "Enter the tenant (directory) ID and the application (client) ID first." in page.connect.why.value
    assert "Connect first" in page.sync_why.value
    assert "No connection is needed to use the workbook" in page.widget.children[3].children[0].value
    assert 'href="#cc-m365-guide"' in page.connect.why.value and 'id="cc-m365-guide"' in page.widget.children[-1].value
    assert "Not checked" in page.permissions.value and "CallRecord-PstnCalls.Read.All" in page.permissions.value
    assert "No sync yet." in page.last_sync.value
    form = LicensesForm(page.ledger)
    form.choose(NO_WAY_TO_CALL)
    form.audio_conferencing.value = True
    form.usage_location.value = "US"
    form.plan_button.click()
    assert form.m365_button.disabled and not form.apply_button.disabled  # Record as done still works offline


def test_connect_self_test_and_sync_now(configured, tmp_path):
    ledger = fresh_tenant(tmp_path / "t.duckdb")
    ledger.add_funds("100.00", at=datetime.now(UTC) - timedelta(days=3), order_id="PO-1")
    standin = standin_for(ledger)
    standin.calls = spread_calls(30, datetime.now(UTC) - timedelta(days=2), 1)
    configured(standin, roles=["User.Read.All", "Organization.Read.All"])
    page = M365Page(ledger)
    page.connect_button.click()
    assert "Connected as app registration 11111111-2222-3333-4444-555555555555" in page.connection_status.value
    assert "3 of 5 checks failed" in page.permissions.value
    assert page.permissions.value.count(">Missing<") == 3 and page.permissions.value.count(">Granted<") == 2
    page.sync_button.click()  # without CallRecords.Read.All the sync stops, in words
    assert "403" in page.status.value and "Last sync failed" in page.last_sync.value

    configured(
        standin,
        roles=[
            "User.ReadWrite.All",
            "Organization.Read.All",
            "CallRecords.Read.All",
            "LicenseAssignment.ReadWrite.All",
        ],
    )
    m365_ui._state["connection"] = None
    page = M365Page(ledger)
    page.connect_button.click()
    assert "All 5 permissions the workbook needs are granted." in page.permissions.value
    page.sync_button.click()
    assert page.progress.value == 100 and "Sync finished." in page.status.value and "30 new" in page.last_sync.value
    assert "Last sync</b>" in page.last_sync.value and "30 settled" in page.last_sync.value


def test_device_code_is_shown_as_a_code_and_a_link(configured, tmp_path):
    page = M365Page(fresh_tenant(tmp_path / "t.duckdb"))
    page.show_device_code("https://microsoft.com/devicelogin", "GH7KQ2LXP", datetime(2026, 11, 26, 12, 15, tzinfo=UTC))
    assert '<a href="https://microsoft.com/devicelogin"' in page.device_box.value
    assert '<span class="cc-device-code">GH7KQ2LXP</span>' in page.device_box.value


def test_apply_in_microsoft_365_from_step_1_says_exactly_what_happened(configured, tmp_path):
    ledger = fresh_tenant(tmp_path / "t.duckdb", audio_seats=10)
    standin = standin_for(ledger, audio_seats=3)  # Microsoft 365 has 2 free seats, not 9
    configured(standin)
    form = LicensesForm(ledger)
    form.choose(NO_WAY_TO_CALL)
    form.audio_conferencing.value = True
    form.usage_location.value = "US"
    form.plan_button.click()
    assert not form.m365_button.disabled and form.m365_button.description == "Apply in Microsoft 365"
    form.m365_button.click()
    status = form.status.value
    assert "Microsoft 365 applied the changes for 2 of 3 users; 1 not (see why below)." in status
    assert "No free seats" in status and status.count("cc-result-applied") == 2
    assert form.m365_button.disabled and form.apply_button.disabled
    assert ledger.store.query("SELECT count(*) FROM m365_license_history WHERE kind = 'license_added'")[0][0] == 2


def test_step_3_has_both_buttons(configured, tmp_path):
    ledger = fresh_tenant(tmp_path / "t.duckdb")
    configured(standin_for(ledger))
    form = CreditLicensesForm(ledger)
    form.plan_button.click()
    labels = {form.m365_button.description, form.apply_button.description}
    assert labels == {"Apply in Microsoft 365", "Record as done"}


def test_each_way_to_sign_in_says_what_it_still_needs(tmp_path, monkeypatch):
    from commcredits.m365.settings import M365Settings, keep_secret, sign_in_blocker

    monkeypatch.delenv("COMMCREDITS_M365_CLIENT_SECRET", raising=False)
    monkeypatch.setattr("commcredits.m365.settings.client_secret", lambda settings, env=None: None)
    bare = M365Settings()
    ids = M365Settings(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555")
    assert sign_in_blocker(bare, "device") == "Enter the tenant (directory) ID and the application (client) ID first."
    assert sign_in_blocker(ids, "device") is None
    assert "COMMCREDITS_M365_CLIENT_SECRET" in sign_in_blocker(ids, "secret")
    assert sign_in_blocker(ids, "secret", typed_secret="abc") is None
    assert "path of the certificate file" in sign_in_blocker(ids, "certificate")
    missing = M365Settings(**{**ids.__dict__, "certificate_path": str(tmp_path / "none.pem")})
    assert "No certificate file at" in sign_in_blocker(missing, "certificate")
    (tmp_path / "app.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert (
        sign_in_blocker(M365Settings(**{**ids.__dict__, "certificate_path": str(tmp_path / "app.pem")}), "certificate")
        is None
    )
    assert sign_in_blocker(ids, "credential") == "No COMMCREDITS_M365_CREDENTIAL is configured."

    import keyring

    def no_backend(*_args):
        raise keyring.errors.NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "set_password", no_backend)
    assert keep_secret(ids.client_id, "abc") is False  # the page then says to use the environment variable


def test_the_page_shows_the_fields_for_the_chosen_sign_in_and_why_a_button_is_off(configured, tmp_path):
    page = M365Page(fresh_tenant(tmp_path / "t.duckdb"))
    connect = page.connect
    connect.tenant.value, connect.client.value = "contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555"
    assert connect.secret.layout.display is None and connect.certificate.layout.display == "none"
    assert page.connect_button.disabled and "Type the client secret" in connect.why.value
    connect.method.value = "certificate"
    assert connect.certificate.layout.display is None and "certificate file" in connect.why.value
    connect.method.value = "device"
    assert page.device_button.layout.display is None and page.connect_button.layout.display == "none"
    assert not page.device_button.disabled and connect.why.value == ""
