"""The alerts strip and the Alerts page, driven headlessly as an admin would use them."""

from datetime import datetime, timezone

import keyring
import pytest

import commcredits as cc
from alerts_receivers import SMTP_PASSWORD, SMTP_USER, MemoryKeyring, smtp_server
from commcredits.alerts.settings import get_secret, load_settings
from commcredits.ui.alerts import AlertsPage, alerts_strip_html
from commcredits.ui.overview import overview_html

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch):
    for variable in ("COMMCREDITS_TEAMS_WEBHOOK_URL", "COMMCREDITS_SMTP_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    previous = keyring.get_keyring()
    store = MemoryKeyring()
    keyring.set_keyring(store)
    yield store
    keyring.set_keyring(previous)


def empty_ledger(path=":memory:"):
    ledger = cc.open_ledger(path, currency="USD")
    ledger.add_funds("50.00", at=T0, order_id="PO-1")
    ledger.spend("50.00", at=T0.replace(hour=10), usage_id="call-1")
    return ledger


def test_overview_starts_with_the_alerts_strip():
    ledger = empty_ledger()
    summary, _ = overview_html(ledger)
    strip = summary.index('class="cc-alerts"')
    assert strip < summary.index('class="cc-cards"')
    assert 'data-check="runway"' in summary and "cc-alert-critical" in summary
    assert '<a href="02_funding.ipynb">Step 2 · Fund →</a>' in summary


def test_a_quiet_strip_when_nothing_is_wrong():
    assert "No alerts: every check passed." in alerts_strip_html([])


def test_saving_settings_shows_every_problem_and_saves_nothing():
    ledger = empty_ledger()
    page = AlertsPage(ledger)
    page.fields["runway_days"].value = "zero"
    page.fields["low_balance"].value = "12,34,5"
    page.fields["email_to"].value = "it-admins@contoso"
    page.fields["teams_enabled"].value = True
    page.save_button.click()
    for name in ("runway_days", "low_balance", "email_to", "smtp_host", "email_from", "teams_webhook_url"):
        assert "cc-error" in page.errors[name].value, name
    assert "Nothing was saved: 6 fields need attention." in page.status.value
    assert ledger.store.query("SELECT count(*) FROM alert_setting")[0][0] == 0


def test_saving_settings_keeps_the_webhook_url_out_of_the_ledger(tmp_path, memory_keyring):
    path = tmp_path / "tenant.duckdb"
    ledger = empty_ledger(path)
    page = AlertsPage(ledger)
    url = "https://prod-23.westeurope.logic.azure.com/workflows/0a1b/triggers/manual/paths/invoke?sp=run&sig=TOPSECRET"
    page.fields["runway_days"].value = "21"
    page.fields["low_balance"].value = "$1,250.00"
    page.fields["teams_enabled"].value = True
    page.fields["teams_webhook_url"].value = url
    page.save_button.click()
    assert "Settings saved" in page.status.value, page.status.value
    settings = load_settings(ledger.store)
    assert settings.thresholds.runway_days == 21 and str(settings.thresholds.low_balance) == "1250.00"
    assert settings.teams_enabled and get_secret("teams_webhook_url") == url
    assert page.fields["teams_webhook_url"].value == "" and "TOPSECRET" not in page.webhook_note.value
    assert "prod-23.westeurope.logic.azure.com" in page.webhook_note.value
    assert b"TOPSECRET" not in path.read_bytes()
    assert 'data-check="low_balance"' in page.current.value


def test_the_test_button_sends_to_the_smtp_server_and_records_it(tmp_path, memory_keyring, monkeypatch):
    with smtp_server(tmp_path) as (port, mailbox, tls, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))   # the dashboard trusts the system CAs; here the test CA
        ledger = empty_ledger()
        page = AlertsPage(ledger)
        page.fields["email_to"].value = "it-admins@contoso.com"
        page.fields["email_from"].value = "alerts@contoso.com"
        page.fields["smtp_host"].value = "127.0.0.1"
        page.fields["smtp_port"].value = str(port)
        page.fields["smtp_username"].value = SMTP_USER
        page.fields["smtp_password"].value = SMTP_PASSWORD
        page.save_button.click()
        assert "Settings saved" in page.status.value, page.status.value
        assert memory_keyring.items[("commcredits", "smtp_password")] == SMTP_PASSWORD
        page.test_button.click()
    assert "email to it-admins@contoso.com: sent" in page.status.value, page.status.value
    assert len(mailbox.messages) == 1 and "test message" in mailbox.parsed()["Subject"]
    assert "Test message" in page.history.table.value and "sent" in page.history.table.value
