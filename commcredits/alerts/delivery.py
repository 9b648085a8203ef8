"""Deliver alert messages: e-mail over SMTP (STARTTLS + login) and a Teams channel through a Workflows webhook.

A message carries several alerts (and "all clear" notes). Teams Workflows webhooks take a message with
`attachments` holding an Adaptive Card (contentType application/vnd.microsoft.card.adaptive); they accept
Adaptive Cards only, not the old connector MessageCard ("Create and send messages", Microsoft Teams docs).
"""

from __future__ import annotations

import email.policy
import html
import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from ..errors import DeliveryError
from ..pages import page_title
from .model import CHECK_TITLES, Alert, Severity

CARD_VERSION = "1.4"  # Teams renders Adaptive Cards up to 1.5; 1.4 keeps older clients working
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
SEVERITY_COLORS = {
    Severity.CRITICAL: ("Attention", "#a4262c"),
    Severity.WARNING: ("Warning", "#8a5300"),
    Severity.INFO: ("Default", "#323130"),
}
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
WEBHOOK_TIMEOUT = 10.0  # seconds per attempt
WEBHOOK_BACKOFF = 2.0  # seconds before the second attempt, doubled before each later one


@dataclass(frozen=True)
class Item:
    """One line of a message: an alert, or the note that an earlier alert's problem is gone."""

    alert: Alert
    kind: str = "alert"  # 'alert' | 'all_clear' | 'test'


@dataclass(frozen=True)
class Outcome:
    """How delivering one message went."""

    ok: bool
    attempts: int
    error: str | None = None


# ---- composing -------------------------------------------------------------------------------------------


def counts(items: Sequence[Item]) -> str:
    """ "1 critical, 2 warnings" for the alerts among the items."""
    alerts = [i.alert for i in items if i.kind == "alert"]
    parts = []
    for severity, one, many in ((Severity.CRITICAL, "critical", "critical"), (Severity.WARNING, "warning", "warnings")):
        n = sum(a.severity is severity for a in alerts)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    cleared = sum(i.kind == "all_clear" for i in items)
    if cleared:
        parts.append(f"{cleared} all clear")
    return ", ".join(parts) or "test message"


def _for(tenant: str) -> str:
    return f" for {tenant}" if tenant else ""


def _dot(tenant: str) -> str:
    return f" · {tenant}" if tenant else ""


def subject(items: Sequence[Item], tenant: str) -> str:
    alerts = [i.alert for i in items if i.kind == "alert"]
    if not alerts:
        if any(i.kind == "test" for i in items):
            return f"Communication Credits alerts{_for(tenant)}: test message"
        return f"All clear: Communication Credits{_for(tenant)}"
    worst = max(a.severity for a in alerts)
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    headline = alerts[0].sentence.split(":")[0].split(" (")[0].rstrip(".")
    return f"[{worst.label}] {headline}{more}{_dot(tenant)}"


def _line(item: Item, url: str) -> tuple[str, str]:
    a = item.alert
    if item.kind == "all_clear":
        text = f"All clear · {a.check}: {a.sentence}"
        return text, f'<p style="color:#0b6a0b">&#10003; <b>All clear</b> · {html.escape(a.sentence)}</p>'
    color = SEVERITY_COLORS[a.severity][1]
    text = f"{a.severity.label.upper()} · {a.sentence}\n  Number: {a.number_text}\n  Fix: {a.fix} {url}"
    markup = (
        f'<div style="border-left:4px solid {color};padding:6px 12px;margin:0 0 12px">'
        f'<div style="color:{color};font-weight:600">{html.escape(a.severity.label)} · {html.escape(a.number_text)}</div>'
        f'<div style="margin:4px 0">{html.escape(a.sentence)}</div>'
        f'<div>Fix: {html.escape(a.fix)} <a href="{html.escape(url, quote=True)}">Open {html.escape(page_title(a.page))}</a>'
        "</div></div>"
    )
    return text, markup


def email_message(items: Sequence[Item], *, tenant: str, sender: str, recipients: Sequence[str], urls) -> EmailMessage:
    """A multipart (plain text + HTML) e-mail listing the items; `urls(page)` gives each fix's link."""
    lines = [_line(i, urls(i.alert.page)) for i in items]
    # long header lines instead of folding: Python folds a short subject onto its own continuation line, which
    # some clients show with a leading space
    message = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
    message["Subject"] = subject(items, tenant)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1] or None)
    footer = "Sent by commcredits check. Change thresholds and recipients on the Alerts page of the dashboard."
    message.set_content("\n\n".join(t for t, _ in lines) + f"\n\n-- \n{footer}\n")
    message.add_alternative(
        '<html><body style="font-family:Segoe UI,system-ui,sans-serif;font-size:14px;color:#1b1b1b">'
        f'<h2 style="font-size:18px;margin:0 0 2px">Communication Credits{html.escape(_dot(tenant))}</h2>'
        f'<p style="color:#605e5c;margin:0 0 12px">{html.escape(counts(items))}</p>'
        + "".join(m for _, m in lines)
        + f'<p style="color:#605e5c;font-size:12px">{html.escape(footer)} '
        f'<a href="{html.escape(urls("05_alerts.ipynb"), quote=True)}">Alerts page</a></p></body></html>',
        subtype="html",
    )
    return message


def teams_payload(items: Sequence[Item], *, tenant: str, urls) -> dict:
    """The webhook body: a message whose one attachment is an Adaptive Card with each alert's sentence, its
    number and an Action.OpenUrl to the dashboard page that fixes it."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": f"Communication Credits{_dot(tenant)}",
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": counts(items), "isSubtle": True, "wrap": True, "spacing": "None"},
    ]
    actions: dict[str, dict] = {}
    for item in items:
        a = item.alert
        if item.kind == "all_clear":
            body.append(_all_clear_block(a))
            continue
        body.append(_alert_block(a))
        actions.setdefault(
            a.page, {"type": "Action.OpenUrl", "title": f"Open {page_title(a.page)}", "url": urls(a.page)}
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "actions": list(actions.values())[:5],
        "fallbackText": subject(items, tenant),
    }
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def _all_clear_block(a: Alert) -> dict:
    """A quiet line saying an earlier alert has cleared."""
    return {
        "type": "TextBlock",
        "text": f"✓ All clear: {a.sentence}",
        "color": "Good",
        "wrap": True,
        "isSubtle": True,
        "separator": True,
    }


def _alert_block(a: Alert) -> dict:
    """An alert's sentence in its severity's colour, then the check, severity, number and fix."""
    return {
        "type": "Container",
        "separator": True,
        "items": [
            {
                "type": "TextBlock",
                "text": a.sentence,
                "wrap": True,
                "weight": "Bolder",
                "color": SEVERITY_COLORS[a.severity][0],
            },
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Check", "value": CHECK_TITLES.get(a.check, a.check)},
                    {"title": "Severity", "value": a.severity.label},
                    {"title": "Number", "value": a.number_text},
                    {"title": "Fix", "value": a.fix},
                ],
            },
        ],
    }


# ---- sending ---------------------------------------------------------------------------------------------


def send_email(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    username: str,
    password: str | None,
    timeout: float = 30.0,
    tls_context: ssl.SSLContext | None = None,
) -> Outcome:
    """Send over SMTP: STARTTLS (certificate checked against the system's CAs), then login when a username is
    set. Never falls back to plain text: a server without STARTTLS is an error."""
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise DeliveryError(
                    f"{host}:{port} does not offer STARTTLS; refusing to send credentials in clear text."
                )
            smtp.starttls(context=tls_context or ssl.create_default_context())
            smtp.ehlo()
            if username:
                if not password:
                    raise DeliveryError(
                        "no SMTP password: set COMMCREDITS_SMTP_PASSWORD or save it on the Alerts page."
                    )
                smtp.login(username, password)
            refused = smtp.send_message(message)
        if refused:
            return Outcome(False, 1, f"the server refused these recipients: {', '.join(sorted(refused))}.")
        return Outcome(True, 1)
    except (DeliveryError, smtplib.SMTPException, OSError) as exc:
        return Outcome(False, 1, smtp_advice(exc, host, port, timeout))


M365_SMTP = "for Microsoft 365: smtp.office365.com, port 587"


def smtp_advice(error: Exception, host: str, port: int, timeout: float = 30.0) -> str:
    """What went wrong talking to the SMTP server, and what to check, in words for an admin."""
    where = f"{host}:{port}"
    if isinstance(error, DeliveryError):
        return str(error)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (
            f"Authentication failed: {host} refused the sign-in name or password. Check both; for Microsoft "
            "365 the mailbox must be allowed to use SMTP AUTH (authenticated SMTP)."
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return f"{host} refused the sender address {error.sender}: send from a mailbox the sign-in name may use."
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"{host} refused every recipient ({', '.join(sorted(error.recipients))}): check the addresses."
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"The secure connection (TLS) to {host} failed: its certificate is not trusted by this computer "
            f"({error.verify_message}). Use the server's real name, as in its certificate."
        )
    if isinstance(error, ssl.SSLError):
        return f"The secure connection (TLS) to {where} failed ({error.reason or error}). Check the port ({M365_SMTP})."
    if isinstance(error, socket.gaierror):
        return f"The SMTP server name {host} is not known: check its spelling ({M365_SMTP})."
    if isinstance(error, ConnectionRefusedError):
        return f"{where} refused the connection: no SMTP server listens there. Check the server and port ({M365_SMTP})."
    if isinstance(error, (TimeoutError, socket.timeout)):
        return (
            f"{where} did not answer within {timeout:g} s: check the server and port, and that a firewall lets "
            "this computer reach it."
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection: check that it is an SMTP server taking STARTTLS ({M365_SMTP})."
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{host} answered {error.smtp_code}: {error.smtp_error.decode(errors='replace')}"
    return f"Could not reach {where}: {getattr(error, 'strerror', None) or error}."


def post_webhook(
    url: str,
    payload: dict,
    *,
    attempts: int = 3,
    timeout: float | None = None,
    backoff: float | None = None,
    sleep=time.sleep,
) -> Outcome:
    """POST the payload as JSON; retry server errors, throttling (429, honouring Retry-After) and timeouts with
    exponential backoff. Any 2xx is success (Workflows answers 202 Accepted)."""
    timeout = WEBHOOK_TIMEOUT if timeout is None else timeout
    backoff = WEBHOOK_BACKOFF if backoff is None else backoff
    data = json.dumps(payload).encode("utf-8")
    error = None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        wait = backoff * 2 ** (attempt - 1)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return Outcome(True, attempt)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code not in RETRY_STATUSES:
                return Outcome(False, attempt, error)
            retry_after = exc.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.isdigit() else wait
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"{'timed out' if 'timed out' in str(reason) else 'unreachable'}: {reason}"
        if attempt < attempts:
            sleep(min(wait, 60.0))
    return Outcome(False, attempts, f"{error} (after {attempts} attempts)")
