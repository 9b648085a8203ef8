"""Alerts as they arrive: e-mail through a real SMTP server (STARTTLS + login) and Teams posts at a local
webhook receiver, in the scenarios admins worry about; `commcredits check` as cron runs it."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import jsonschema
import pytest
from alerts_receivers import SMTP_PASSWORD, SMTP_USER, TEAMS_MESSAGE_SCHEMA, render_card_html, smtp_server
from pytest_httpserver import HTTPServer
from werkzeug import Response

import commcredits as cc
from commcredits.alerts import delivery
from commcredits.alerts.checks import Severity
from commcredits.alerts.notify import run_check
from commcredits.alerts.settings import AlertSettings, save_settings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEBHOOK_PATH = "/workflows/4f1c/triggers/manual/paths/invoke"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return T0.replace(hour=0) + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture
def smtp(tmp_path):
    with smtp_server(tmp_path) as server:
        yield server


@pytest.fixture(autouse=True)
def quick_webhook_retries(monkeypatch):
    monkeypatch.setattr(delivery, "WEBHOOK_BACKOFF", 0.05)
    monkeypatch.setattr(delivery, "WEBHOOK_TIMEOUT", 0.5)
    monkeypatch.setenv("COMMCREDITS_SMTP_PASSWORD", SMTP_PASSWORD)


def configure(ledger, *, smtp_port=None, webhook=None, monkeypatch=None, **thresholds):
    from commcredits.alerts.checks import Thresholds

    if webhook is not None:
        monkeypatch.setenv("COMMCREDITS_TEAMS_WEBHOOK_URL", webhook)
    save_settings(
        ledger.store,
        AlertSettings(
            thresholds=Thresholds(**thresholds),
            email_to=("it-admins@contoso.com",) if smtp_port else (),
            email_from="alerts@contoso.com",
            smtp_host="127.0.0.1" if smtp_port else "",
            smtp_port=smtp_port or 587,
            smtp_username=SMTP_USER,
            teams_enabled=webhook is not None,
            dashboard_url="https://dash.contoso.com/voila/render/",
        ),
    )


def problems(report):
    """The checks that alert (info, such as "no call logs imported yet", is only shown)."""
    return [a.check for a in report.alerts if a.severity >= Severity.WARNING]


def history(ledger):
    return ledger.store.query_df("SELECT * FROM alerts_sent ORDER BY delivery_id")


def test_a_burn_crossing_the_runway_threshold_alerts_once_that_day_and_again_only_when_worse(smtp, artifacts):
    port, mailbox, tls, _ = smtp
    ledger = cc.open_ledger(":memory:", currency="USD")
    ledger.add_funds("1000.00", at=T0, order_id="PO-1")
    configure(ledger, smtp_port=port)
    for day in range(35):
        ledger.spend("20.00", at=at(day, 12), usage_id=f"call-{day}")
    assert problems(run_check(ledger, now=at(34, 13), tls_context=tls)) == []
    assert mailbox.messages == []  # $300 lasts 15 days: fine
    ledger.spend("20.00", at=at(35, 12), usage_id="call-35")  # $280 at $20 a day: 14 days
    report = run_check(ledger, now=at(35, 13), tls_context=tls)
    assert problems(report) == ["runway"] and report.exit_code == 0
    assert len(mailbox.messages) == 1
    first = mailbox.parsed()
    assert mailbox.messages[0]["tls"] and mailbox.messages[0]["login"] == SMTP_USER
    assert first["Subject"] == "[Warning] Calls paid from credits stop in about 14 days"
    text = first.get_body(("plain",)).get_content()
    assert "$280.00" in text and "https://dash.contoso.com/voila/render/02_funding.ipynb" in text
    ledger.spend("5.00", at=at(35, 16), usage_id="call-35b")  # a little worse: same band
    run_check(ledger, now=at(35, 17), tls_context=tls)
    assert len(mailbox.messages) == 1
    ledger.spend("170.00", at=at(35, 19), usage_id="conference-dial-out")  # 4 days left: worse
    run_check(ledger, now=at(35, 20), tls_context=tls)
    assert len(mailbox.messages) == 2 and "stop in about 4 days" in mailbox.parsed()["Subject"]
    run_check(ledger, now=at(35, 23), tls_context=tls)  # nothing new the same day
    assert len(mailbox.messages) == 2
    run_check(ledger, now=at(36, 9), tls_context=tls)  # next day: reminded once
    assert len(mailbox.messages) == 3
    ledger.add_funds("1000.00", at=at(36, 10), order_id="PO-2")
    report = run_check(ledger, now=at(36, 11), tls_context=tls)  # the problem is gone: all clear
    assert problems(report) == [] and len(mailbox.messages) == 4
    assert mailbox.parsed()["Subject"].startswith("All clear")
    assert "resolved since" in mailbox.parsed().get_body(("plain",)).get_content()
    sent = history(ledger)
    assert list(sent["kind"]) == ["alert", "alert", "alert", "all_clear"]
    assert set(sent["status"]) == {"sent"} and set(sent["channel"]) == {"email"}
    (artifacts / "alert-email-runway.eml").write_bytes(mailbox.messages[1]["raw"])


def test_an_mca_tenant_with_auto_recharge_on_alerts_on_teams(httpserver, monkeypatch, artifacts):
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=202)
    ledger = cc.open_ledger(":memory:", currency="USD")
    ledger.add_funds("500.00", at=T0, order_id="PO-1")
    ledger.set_auto_recharge(amount="200.00", below="50.00")
    # The billing account moved to MCA at Microsoft while the admin center's auto-recharge stayed on. The
    # workbook's own form refuses that combination, so the tenant's state is recorded as imported.
    with ledger.store.transaction() as con:
        con.execute("INSERT INTO agreement_change VALUES (1, $1, 'MCA')", [at(10, 9)]).fetchall()
    assert ledger.agreement is cc.Agreement.MCA and ledger.auto_recharge.enabled
    configure(ledger, webhook=httpserver.url_for(WEBHOOK_PATH), monkeypatch=monkeypatch)
    report = run_check(ledger, now=at(11, 9))
    assert problems(report) == ["auto_recharge.mca"] and report.exit_code == 2
    ((request, _),) = httpserver.log
    payload = json.loads(request.get_data())
    jsonschema.validate(payload, TEAMS_MESSAGE_SCHEMA)
    card = payload["attachments"][0]["content"]
    assert card["version"] == "1.4"
    sentence = card["body"][2]["items"][0]
    assert sentence["color"] == "Attention" and "Microsoft Customer Agreement" in sentence["text"]
    facts = {f["title"]: f["value"] for f in card["body"][2]["items"][1]["facts"]}
    assert (
        facts["Check"] == "Auto-recharge on an MCA tenant"
        and facts["Severity"] == "Critical"
        and "Edit auto recharge settings" in facts["Fix"]
    )
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open Step 2 · Fund",
            "url": "https://dash.contoso.com/voila/render/02_funding.ipynb",
        }
    ]
    assert (
        history(ledger)["recipient"][0].startswith("http://localhost:")
        and "(rest hidden)" in history(ledger)["recipient"][0]
    )
    (artifacts / "alert-teams-card-mca.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))


def test_a_runaway_of_recharges_alerts(smtp):
    port, mailbox, tls, _ = smtp
    ledger = cc.open_ledger(":memory:", currency="USD")
    ledger.add_funds("100.00", at=T0, order_id="PO-1")
    ledger.set_auto_recharge(amount="20.00", below="50.00")
    for n in range(12):  # a stuck call loop: $25 every 20 minutes
        ledger.spend("25.00", at=at(3, 8, 20 * n), usage_id=f"loop-{n}")
    recharges = (ledger.invoices()["reason"] == "auto_recharge").sum()
    assert recharges > 3
    configure(ledger, smtp_port=port, monthly_recharge_budget=Decimal("100.00"))
    report = run_check(ledger, now=at(3, 13), tls_context=tls)
    found = {a.check: a for a in report.alerts}
    assert found["auto_recharge.runaway"].number == recharges
    assert f"{recharges} auto-recharges in the last 24 hours" in found["auto_recharge.runaway"].sentence
    assert "above your monthly budget of $100.00" in found["auto_recharge.budget"].sentence
    assert report.exit_code == 2
    body = mailbox.parsed().get_body(("plain",)).get_content()
    assert "auto-recharges in the last 24 hours" in body and "monthly budget" in body


def zero_balance_ledger():
    ledger = cc.open_ledger(":memory:", currency="USD")
    ledger.add_funds("50.00", at=T0, order_id="PO-1")
    ledger.spend("50.00", at=at(1, 10), usage_id="call-1")
    return ledger


def test_a_webhook_that_fails_is_retried_reported_and_kept_in_the_history(httpserver, monkeypatch):
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("boom", status=500)
    ledger = zero_balance_ledger()
    configure(ledger, webhook=httpserver.url_for(WEBHOOK_PATH), monkeypatch=monkeypatch)
    report = run_check(ledger, now=at(1, 11))
    (teams,) = report.channels
    assert not teams.outcome.ok and teams.outcome.attempts == 3 and "HTTP 500" in teams.outcome.error
    assert len(httpserver.log) == 3
    assert report.channels_for(report.alerts[0]) == ["teams (failed)"] and report.exit_code == 2
    failed = history(ledger)
    assert list(failed["status"]) == ["failed"] and failed["attempts"][0] == 3 and "HTTP 500" in failed["error"][0]
    assert failed["check_name"][0] == "runway" and failed["severity"][0] == "critical"
    # the receiver is fixed: the next run sends what failed (a failure never counts as sent)
    httpserver.clear()
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=202)
    report = run_check(ledger, now=at(1, 12))
    assert report.channels[0].outcome.ok and len(httpserver.log) == 1
    assert list(history(ledger)["status"]) == ["failed", "sent"]
    run_check(ledger, now=at(1, 13))
    assert len(httpserver.log) == 1  # sent now, so not again today


def test_a_webhook_that_times_out_is_retried(monkeypatch):
    def slow(request):
        time.sleep(1.0)
        return Response("", status=202)

    server = HTTPServer(host="127.0.0.1", threaded=True)  # answers the retry while the slow call still runs
    server.expect_ordered_request(WEBHOOK_PATH, method="POST").respond_with_handler(slow)
    server.expect_ordered_request(WEBHOOK_PATH, method="POST").respond_with_handler(slow)
    server.expect_ordered_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=202)
    server.start()
    try:
        ledger = zero_balance_ledger()
        configure(ledger, webhook=server.url_for(WEBHOOK_PATH), monkeypatch=monkeypatch)
        outcome = run_check(ledger, now=at(1, 11)).channels[0].outcome
    finally:
        server.clear()
        server.stop()
    assert outcome.ok and outcome.attempts == 3
    assert list(history(ledger)[["status", "attempts"]].itertuples(index=False, name=None)) == [("sent", 3)]


def test_a_refused_login_is_reported_not_lost(smtp, monkeypatch):
    port, mailbox, tls, _ = smtp
    monkeypatch.setenv("COMMCREDITS_SMTP_PASSWORD", "wrong")
    ledger = zero_balance_ledger()
    configure(ledger, smtp_port=port)
    report = run_check(ledger, now=at(1, 11), tls_context=tls)
    assert not report.channels[0].outcome.ok and "Authentication" in report.channels[0].outcome.error
    assert mailbox.messages == [] and list(history(ledger)["status"]) == ["failed"]


def test_commcredits_check_for_cron(smtp, httpserver, tmp_path, artifacts, monkeypatch):
    """The console command end to end: real STARTTLS (trusting the test CA through SSL_CERT_FILE), e-mail and
    Teams, one line per alert, exit 2 for critical; --dry-run sends and records nothing."""
    port, mailbox, _, cert = smtp
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=202)
    path = tmp_path / "tenant.duckdb"
    ledger = cc.open_ledger(path, currency="USD")
    ledger.add_funds("50.00", at=T0, order_id="PO-1")
    ledger.spend("50.00", at=at(1, 10), usage_id="call-1")
    configure(ledger, smtp_port=port, webhook=httpserver.url_for(WEBHOOK_PATH), monkeypatch=monkeypatch)
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(cert),
        "COMMCREDITS_SMTP_PASSWORD": SMTP_PASSWORD,
        "COMMCREDITS_TEAMS_WEBHOOK_URL": httpserver.url_for(WEBHOOK_PATH),
    }
    command = [sys.executable, "-m", "commcredits.cli", "check", "--db", str(path)]
    dry = subprocess.run([*command, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 2, dry.stderr
    assert "CRITICAL runway: The Communication Credits balance is $0.00" in dry.stdout
    assert "[would send to email and teams]" in dry.stdout
    assert mailbox.messages == [] and httpserver.log == [] and history(cc.open_ledger(path)).empty
    real = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert real.returncode == 2, real.stderr
    assert "[sent to email and teams]" in real.stdout
    assert len(mailbox.messages) == 1 and len(httpserver.log) == 1
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "[already sent today]" in again.stdout and len(mailbox.messages) == 1
    (artifacts / "commcredits-check-output.txt").write_text(dry.stdout + "\n" + real.stdout + "\n" + again.stdout)


@pytest.mark.browser
def test_the_email_and_the_teams_card_as_they_arrive(smtp, httpserver, monkeypatch, page, artifacts):
    """Save what the receivers got (.eml, the card JSON) and screenshots of both to look at."""
    port, mailbox, tls, _ = smtp
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("", status=202)
    ledger = cc.open_ledger(":memory:", currency="USD")
    cc.save_billing(
        ledger.store,
        cc.BillingDetails("Contoso Ltd", "1 Microsoft Way", "Redmond", "98052", "US", "", "", "ap@contoso.com"),
    )
    ledger.add_funds("1000.00", at=T0, order_id="PO-1")
    ledger.set_auto_recharge(amount="25.00", below="30.00")
    for day in range(20):
        ledger.spend("40.00", at=at(day, 12), usage_id=f"call-{day}")
    configure(ledger, smtp_port=port, webhook=httpserver.url_for(WEBHOOK_PATH), monkeypatch=monkeypatch)
    report = run_check(ledger, now=at(20, 9), tls_context=tls)
    assert {a.check for a in report.alerts} >= {"auto_recharge.trigger", "auto_recharge.amount"}
    raw = mailbox.messages[-1]["raw"]
    (artifacts / "alert-email.eml").write_bytes(raw)
    email_html = mailbox.parsed().get_body(("html",)).get_content()
    (artifacts / "alert-email.html").write_text(email_html)
    assert "Contoso Ltd" in mailbox.parsed()["Subject"]
    page.set_viewport_size({"width": 900, "height": 500})
    page.set_content(email_html)
    page.screenshot(path=str(artifacts / "alert-email.png"), full_page=True)
    payload = json.loads(httpserver.log[-1][0].get_data())
    jsonschema.validate(payload, TEAMS_MESSAGE_SCHEMA)
    (artifacts / "alert-teams-card.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    page.set_content(render_card_html(payload["attachments"][0]["content"]))
    assert page.get_by_role("link", name="Open Step 2 · Fund").is_visible()
    page.screenshot(path=str(artifacts / "alert-teams-card.png"), full_page=True)


def test_two_overlapping_runs_send_each_alert_once(smtp, tmp_path, monkeypatch):
    """A slow cron run and the next one overlap: the second waits for the first, then finds it all sent."""
    port, mailbox, _, cert = smtp
    path = tmp_path / "tenant.duckdb"
    ledger = cc.open_ledger(path, currency="USD")
    ledger.add_funds("50.00", at=T0, order_id="PO-1")
    ledger.spend("50.00", at=at(1, 10), usage_id="call-1")
    configure(ledger, smtp_port=port)
    env = {**os.environ, "SSL_CERT_FILE": str(cert), "COMMCREDITS_SMTP_PASSWORD": SMTP_PASSWORD}
    command = [sys.executable, "-m", "commcredits.cli", "check", "--db", str(path)]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [2, 2], outputs
    assert len(mailbox.messages) == 1
    assert sorted("[sent to email]" in out for out, _ in outputs) == [False, True]
    assert list(history(cc.open_ledger(path))["status"]) == ["sent"]
