"""Real receivers for alert tests: an SMTP server (aiosmtpd) with STARTTLS and login on 127.0.0.1, and the
Adaptive Card rules the Teams webhook payload must follow."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import ssl
from email import message_from_bytes, policy
from pathlib import Path

import keyring.backend
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from voila_server import free_port


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An OS keyring stand-in kept in memory (the keyring API, without a desktop session)."""

    priority = 1

    def __init__(self):
        self.items = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username))


SMTP_USER, SMTP_PASSWORD = "alerts@contoso.com", "s3cret-app-password"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Mailbox:
    """Keeps every message the SMTP server accepted, with the login used and whether TLS was on."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "raw": envelope.content,
                "to": list(envelope.rcpt_tos),
                "from": envelope.mail_from,
                "tls": session.ssl is not None,
                "login": session.auth_data,
            }
        )
        return "250 Message accepted for delivery"

    def parsed(self, n: int = -1):
        return message_from_bytes(self.messages[n]["raw"], policy=policy.default)


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


@contextlib.contextmanager
def smtp_server(folder: Path):
    """Yield (port, mailbox, client TLS context) for an SMTP server that requires STARTTLS and login."""
    cert, key = self_signed_certificate(folder)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield port, mailbox, ssl.create_default_context(cafile=str(cert)), cert
    finally:
        controller.stop()


# The parts of the Adaptive Card 1.4 schema (adaptivecards.io/schemas/1.4.0/adaptive-card.json) that our
# cards use, with additionalProperties off as in the real schema, so a misspelt property fails.
_ENUM = {"type": "string"}
_ELEMENT_COMMON = {
    "id": _ENUM,
    "separator": {"type": "boolean"},
    "isVisible": {"type": "boolean"},
    "spacing": {"enum": ["None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"]},
}
TEXT_BLOCK = {
    "type": "object",
    "required": ["type", "text"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "TextBlock"},
        "text": {"type": "string", "minLength": 1},
        "color": {"enum": ["Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"]},
        "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
        "weight": {"enum": ["Default", "Lighter", "Bolder"]},
        "wrap": {"type": "boolean"},
        "isSubtle": {"type": "boolean"},
        "maxLines": {"type": "integer"},
        **_ELEMENT_COMMON,
    },
}
FACT_SET = {
    "type": "object",
    "required": ["type", "facts"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "FactSet"},
        **_ELEMENT_COMMON,
        "facts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["title", "value"],
                "additionalProperties": False,
                "properties": {"title": {"type": "string"}, "value": {"type": "string"}},
            },
        },
    },
}
ELEMENT = {"anyOf": [TEXT_BLOCK, FACT_SET, {"$ref": "#/definitions/Container"}]}
OPEN_URL = {
    "type": "object",
    "required": ["type", "url"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "Action.OpenUrl"},
        "url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
    },
}
TEAMS_MESSAGE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "definitions": {
        "Container": {
            "type": "object",
            "required": ["type", "items"],
            "additionalProperties": False,
            "properties": {
                "type": {"const": "Container"},
                "items": {"type": "array", "items": ELEMENT},
                "style": {"enum": ["default", "emphasis", "good", "attention", "warning", "accent"]},
                **_ELEMENT_COMMON,
            },
        }
    },
    "type": "object",
    "required": ["type", "attachments"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "message"},
        "attachments": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["contentType", "content"],
                "additionalProperties": False,
                "properties": {
                    "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
                    "contentUrl": {"type": "null"},
                    "content": {
                        "type": "object",
                        "required": ["type", "version", "body"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"const": "AdaptiveCard"},
                            "version": {"enum": ["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]},
                            "$schema": {"type": "string"},
                            "fallbackText": {"type": "string"},
                            "body": {"type": "array", "minItems": 1, "items": ELEMENT},
                            "actions": {"type": "array", "maxItems": 6, "items": OPEN_URL},
                        },
                    },
                },
            },
        },
    },
}


def render_card_html(card: dict) -> str:
    """A rough HTML rendering of an Adaptive Card (TextBlock, FactSet, Container, Action.OpenUrl), to look at."""
    import html

    colors = {"Attention": "#c4314b", "Warning": "#c19c00", "Good": "#237b4b", "Default": "#242424"}

    def element(e):
        if e["type"] == "TextBlock":
            style = [f"color:{colors.get(e.get('color', 'Default'), '#242424')}"]
            if e.get("weight") == "Bolder":
                style.append("font-weight:600")
            if e.get("size") == "Medium":
                style.append("font-size:17px")
            if e.get("isSubtle"):
                style.append("opacity:.75")
            border = "border-top:1px solid #e0e0e0;padding-top:8px;" if e.get("separator") else ""
            return f'<div style="{border}{";".join(style)};margin:6px 0">{html.escape(e["text"])}</div>'
        if e["type"] == "FactSet":
            rows = "".join(
                f'<tr><td style="font-weight:600;padding:2px 12px 2px 0;vertical-align:top">'
                f"{html.escape(f['title'])}</td><td>{html.escape(f['value'])}</td></tr>"
                for f in e["facts"]
            )
            return f"<table style='font-size:13px'>{rows}</table>"
        border = "border-top:1px solid #e0e0e0;padding-top:6px;margin-top:8px" if e.get("separator") else ""
        return f'<div style="{border}">{"".join(element(i) for i in e["items"])}</div>'

    actions = "".join(
        f'<a style="display:inline-block;border:1px solid #d1d1d1;border-radius:4px;padding:6px 12px;'
        f'margin:8px 8px 0 0;color:#5b5fc7;text-decoration:none" href="{html.escape(a["url"])}">'
        f"{html.escape(a['title'])}</a>"
        for a in card.get("actions", [])
    )
    return (
        '<html><body style="background:#f5f5f5;font-family:Segoe UI,system-ui,sans-serif;font-size:14px">'
        '<div style="max-width:560px;margin:24px;background:white;border-radius:6px;padding:16px;'
        'box-shadow:0 1px 3px rgba(0,0,0,.2)"><div style="color:#616161;font-size:12px">Workflows · '
        "Teams channel (rough rendering of the Adaptive Card)</div>"
        + "".join(element(e) for e in card["body"])
        + actions
        + "</div></body></html>"
    )
