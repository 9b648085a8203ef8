"""The alerts strip and the Alerts page, driven headlessly as an admin would use them."""

import re
import socket
from datetime import UTC, datetime

import keyring
import pytest
from alerts_receivers import SMTP_PASSWORD, SMTP_USER, MemoryKeyring, smtp_server

import commcredits as cc
from commcredits.alerts.settings import get_secret, load_settings
from commcredits.errors import CommCreditsError
from commcredits.ui.alerts import AlertsPage, alerts_strip_html
from commcredits.ui.overview import overview_html

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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


def test_overview_shows_the_alerts_strip_right_under_the_balance_cards():
    ledger = empty_ledger()
    summary, _ = overview_html(ledger)  # the balance first (issue 21: on a phone it was 1,000 px down)
    assert summary.index('class="cc-cards"') < summary.index('class="cc-alerts"')
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
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the dashboard trusts the system CAs; here the test CA
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


@pytest.fixture
def no_keyring(monkeypatch):
    """A machine without an OS keyring (a server): keyring's own "fail" backend."""
    import keyring.backends.fail

    for variable in ("COMMCREDITS_TEAMS_WEBHOOK_URL", "COMMCREDITS_SMTP_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


def smtp_form(page, port, *, password=SMTP_PASSWORD, username=SMTP_USER):
    page.fields["email_to"].value = "it-admins@contoso.com"
    page.fields["email_from"].value = "alerts@contoso.com"
    page.fields["smtp_host"].value = "127.0.0.1"
    page.fields["smtp_port"].value = str(port)
    page.fields["smtp_username"].value = username
    page.fields["smtp_password"].value = password


def test_each_field_needing_attention_shows_its_messages_with_their_subject():
    page = AlertsPage(empty_ledger())
    page.fields["runway_days"].value = "zero"
    page.fields["email_to"].value = "a@contoso, b@contoso"  # two problems in one field
    page.fields["dashboard_url"].value = "dashboard"
    page.save_button.click()
    flagged = [name for name, error in page.errors.items() if "cc-error" in error.value]
    assert sorted(flagged) == ["dashboard_url", "email_from", "email_to", "runway_days", "smtp_host"]
    assert f"Nothing was saved: {len(flagged)} fields need attention." in page.status.value
    listed = re.findall(r"<li>(.*?)</li>", page.status.value)
    assert len(listed) == 6  # every message, the two about e-mail recipients included
    labels = [page.label(name) for name in page.fields]
    assert all(any(m.startswith(label) for label in labels) for m in listed), listed
    assert "Send from is required to send e-mail." in page.errors["email_from"].value
    assert "SMTP server is required" in page.errors["smtp_host"].value


def test_without_a_keyring_a_typed_password_does_not_stop_the_other_settings_from_saving(no_keyring):
    ledger = empty_ledger()
    page = AlertsPage(ledger)
    assert "no OS keyring" in page.secret_notes["smtp_password"].value
    assert "COMMCREDITS_SMTP_PASSWORD" in page.secret_notes["smtp_password"].value
    smtp_form(page, 587)
    page.fields["runway_days"].value = "30"
    page.save_button.click()
    assert "Settings saved" in page.status.value, page.status.value
    assert "SMTP password not kept" in page.status.value and "COMMCREDITS_SMTP_PASSWORD" in page.status.value
    settings = load_settings(ledger.store)
    assert settings.email_to == ("it-admins@contoso.com",) and settings.thresholds.runway_days == 30


def test_a_secret_field_says_where_its_secret_goes(monkeypatch):
    page = AlertsPage(empty_ledger())
    assert "OS keyring" in page.secret_notes["smtp_password"].value
    monkeypatch.setenv("COMMCREDITS_TEAMS_WEBHOOK_URL", "https://example.logic.azure.com/x")
    page = AlertsPage(empty_ledger())
    assert (
        "Read from the environment variable <code>COMMCREDITS_TEAMS_WEBHOOK_URL</code>"
        in page.secret_notes["teams_webhook_url"].value
    )


def test_the_test_message_uses_what_is_on_screen_even_without_a_keyring(tmp_path, no_keyring, monkeypatch):
    with smtp_server(tmp_path) as (port, mailbox, tls, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        ledger = empty_ledger()
        page = AlertsPage(ledger)
        smtp_form(page, port)  # typed, never saved
        page.test_button.click()
    assert "email to it-admins@contoso.com: sent" in page.status.value, page.status.value
    assert "not saved yet" in page.status.value and len(mailbox.messages) == 1
    assert page.test_button.description == "Send a test message" and not page.test_button.disabled


def test_while_the_test_message_is_sent_the_button_says_sending_and_cannot_be_clicked_again(monkeypatch):
    page = AlertsPage(empty_ledger())
    seen = []

    def slow_send(ledger, *, settings, secrets):  # what the admin sees while the SMTP server answers
        seen.append((page.test_button.description, page.test_button.disabled, page.status.value))
        raise CommCreditsError("The SMTP server 127.0.0.1 refused the connection.")

    monkeypatch.setattr("commcredits.ui.alerts.send_test", slow_send)
    smtp_form(page, 2525)
    page.test_button.click()
    assert seen == [("Sending…", True, '<div class="cc-phase" role="status">Sending the test message…</div>')]
    assert "refused the connection" in page.status.value
    assert page.test_button.description == "Send a test message" and not page.test_button.disabled


def test_the_test_message_with_a_problem_on_screen_sends_nothing():
    page = AlertsPage(empty_ledger())
    page.fields["email_to"].value = "it-admins@contoso.com"
    page.test_button.click()
    assert "No test message was sent: 2 fields need attention." in page.status.value


def _refused_port():
    with socket.socket() as s:  # bound, never listening: connecting is refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "case, advice",
    [
        ("refused", "refused the connection: no SMTP server listens there"),
        ("unknown host", "The SMTP server name smtp.contoso.invalid is not known"),
        ("wrong password", "Authentication failed"),
        ("untrusted certificate", "The secure connection (TLS) to 127.0.0.1 failed"),
    ],
)
def test_smtp_failures_are_plain_advice(tmp_path, monkeypatch, case, advice):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with smtp_server(tmp_path) as (port, mailbox, tls, cert):
        if case != "untrusted certificate":
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        page = AlertsPage(empty_ledger())
        smtp_form(
            page,
            _refused_port() if case == "refused" else port,
            password="wrong" if case == "wrong password" else SMTP_PASSWORD,
        )
        if case == "unknown host":
            page.fields["smtp_host"].value = "smtp.contoso.invalid"
        page.test_button.click()
    shown = page.status.value
    assert advice in shown, shown
    assert "Error:" not in shown and "Errno" not in shown and "gaierror" not in shown
    assert mailbox.messages == []
