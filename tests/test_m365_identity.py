"""Real azure-identity sign-in (client secret, device code) against a local Entra ID token service over TLS."""

import os
import re
import time

import pytest
from graph_standin import IdentityStandin
from test_license_forms import NO_WAY_TO_CALL, fresh_tenant
from test_m365_apply import AUDIO, standin_for

from commcredits.errors import M365Error
from commcredits.licensing.plans import plan_license_changes
from commcredits.m365.apply import apply_plan_m365
from commcredits.m365.connection import connect_m365
from commcredits.m365.permissions import check_permissions
from commcredits.ui import m365 as m365_ui
from commcredits.ui.m365 import M365Page

TENANT, CLIENT = "fabrikam.onmicrosoft.com", "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def identity(tmp_path, monkeypatch):
    server = IdentityStandin(str(tmp_path)).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)  # trust the stand-in's certificate, nothing else
    yield server
    server.stop()


def test_client_secret_sign_in_through_azure_identity(identity, tmp_path):
    ledger = fresh_tenant(tmp_path / "t.duckdb")
    graph = standin_for(ledger)
    options = dict(
        tenant_id=TENANT,
        client_id=CLIENT,
        base_url=graph.base_url,
        authority=identity.authority,
        credential_options={"disable_instance_discovery": True},
    )
    connection = connect_m365(client_secret="s3cr3t-value", **options)
    assert check_permissions(connection).ok
    assert any("client_credentials" in r for r in identity.requests)
    wrong = connect_m365(client_secret="not-the-secret", **options)
    with pytest.raises(M365Error, match="Sign-in to Microsoft Entra ID failed .*AADSTS7000215") as failure:
        wrong.get("users?$top=1")
    assert failure.value.status == 401 and "not-the-secret" not in str(failure.value)


def test_an_admin_signs_in_with_a_device_code_and_their_name_goes_with_the_change(identity, tmp_path, monkeypatch):
    ledger = fresh_tenant(tmp_path / "t.duckdb")
    graph = standin_for(ledger)
    for name in [n for n in os.environ if n.startswith("COMMCREDITS_M365_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COMMCREDITS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setattr(m365_ui, "_state", {"connection": None})
    for key, value in {
        "TENANT_ID": TENANT,
        "CLIENT_ID": CLIENT,
        "BASE_URL": graph.base_url,
        "AUTHORITY": identity.authority,
        "DISABLE_INSTANCE_DISCOVERY": "true",
    }.items():
        monkeypatch.setenv(f"COMMCREDITS_M365_{key}", value)
    page = M365Page(ledger)
    assert page.connect_button.disabled and not page.device_button.disabled  # no secret here: an admin signs in
    page.device_button.click()
    code = _wait_for(lambda: re.search(r'cc-device-code">([A-Z0-9]+)<', page.device_box.value))
    assert 'href="https://microsoft.com/devicelogin"' in page.device_box.value
    identity.approve(code.group(1))  # the admin enters the code at microsoft.com/devicelogin and signs in
    _wait_for(
        lambda: "Connected as Megan Bowen &lt;megan@fabrikam.com&gt; (admin sign-in)" in page.connection_status.value
    )
    assert "CallRecord-PstnCalls.Read.All" in page.permissions.value and "app registration" in page.permissions.value
    report = apply_plan_m365(
        ledger, plan_license_changes(ledger.store, NO_WAY_TO_CALL, AUDIO), m365_ui.current_connection()
    )
    assert len(report.applied) == 3
    assert ledger.store.query("SELECT DISTINCT applied_by FROM m365_license_history") == [
        ("Megan Bowen <megan@fabrikam.com>",)
    ]


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")
