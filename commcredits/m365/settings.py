"""Where the Microsoft 365 connection settings come from: the environment, then a config file; the secret from the
environment or the OS keyring only (a config file holding a secret is refused, and none is ever written).

Environment: COMMCREDITS_M365_TENANT_ID, COMMCREDITS_M365_CLIENT_ID, COMMCREDITS_M365_CLIENT_SECRET,
COMMCREDITS_M365_CERTIFICATE_PATH, COMMCREDITS_M365_BASE_URL, COMMCREDITS_M365_AUTHORITY (and
COMMCREDITS_M365_DISABLE_INSTANCE_DISCOVERY=true for a private cloud),
COMMCREDITS_M365_CREDENTIAL ("module:callable" returning any azure TokenCredential, e.g.
"azure.identity:ManagedIdentityCredential"), COMMCREDITS_DB (the ledger). Config file: COMMCREDITS_CONFIG or
~/.config/commcredits/config.toml, with `ledger = "..."` and an `[m365]` table of the same names in lower case.
Keyring: service "commcredits-m365", user name = the client id (`keyring set commcredits-m365 <client id>`).
"""

from __future__ import annotations

import importlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from ..config import database_path
from ..errors import InvalidInput, NotConnected
from .connection import GRAPH_V1, M365Connection, connect_m365

KEYRING_SERVICE = "commcredits-m365"
CONFIG_ENV = "COMMCREDITS_CONFIG"
DEFAULT_CONFIG = Path("~/.config/commcredits/config.toml")
SECRET_ENV = "COMMCREDITS_M365_CLIENT_SECRET"


@dataclass(frozen=True)
class M365Settings:
    tenant_id: str | None = None
    client_id: str | None = None
    certificate_path: str | None = None
    base_url: str = GRAPH_V1
    authority: str | None = None
    credential: str | None = None  # "module:callable"
    disable_instance_discovery: str | None = None  # "true" for private clouds without Entra instance discovery
    ledger: str | None = None

    @property
    def credential_options(self) -> dict:
        flag = (self.disable_instance_discovery or "").strip().lower() in {"1", "true", "yes"}
        return {"disable_instance_discovery": True} if flag else {}

    @property
    def ledger_path(self) -> Path:
        return Path(self.ledger).expanduser() if self.ledger else database_path()


def config_file(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG).expanduser()


def load_settings(path: str | Path | None = None, env: Mapping[str, str] = os.environ) -> M365Settings:
    """Settings from the config file (if any), overridden by the environment. Raises InvalidInput for a bad file."""
    values: dict[str, str] = {}
    file = Path(path).expanduser() if path else config_file(env)
    if path and not file.is_file():
        raise InvalidInput("config", f"{file} does not exist")
    if file.is_file():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput("config", f"{file} is not a TOML file: {exc}") from exc
        section = data.get("m365") or {}
        if "client_secret" in section or "client_secret" in data:
            raise InvalidInput(
                "client_secret",
                f"{file} holds a client secret: remove it and put it in the OS "
                f"keyring (keyring set {KEYRING_SERVICE} <client id>) or in "
                f"{SECRET_ENV}",
            )
        values |= {k: str(v) for k, v in section.items() if k in {f.name for f in fields(M365Settings)}}
        if data.get("ledger"):
            values["ledger"] = str(data["ledger"])
    for f in fields(M365Settings):
        name = "COMMCREDITS_DB" if f.name == "ledger" else f"COMMCREDITS_M365_{f.name.upper()}"
        if env.get(name, "").strip():
            values[f.name] = env[name].strip()
    return M365Settings(**values)


def client_secret(settings: M365Settings, env: Mapping[str, str] = os.environ) -> str | None:
    """The app's client secret from the environment, else the OS keyring; None when neither has one."""
    if env.get(SECRET_ENV):
        return env[SECRET_ENV]
    if not settings.client_id:
        return None
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, settings.client_id)
    except Exception:  # noqa: BLE001 - no keyring backend on this machine: the environment is the way
        return None


def is_configured(settings: M365Settings) -> bool:
    """True when an app-only connection can be made without asking anyone (cheap: imports nothing heavy)."""
    if settings.credential:
        return True
    return bool(settings.tenant_id and settings.client_id and (settings.certificate_path or client_secret(settings)))


def connect_from_settings(settings: M365Settings | None = None) -> M365Connection:
    """The app-only connection the settings describe. Raises NotConnected saying what is missing."""
    settings = settings or load_settings()
    if settings.credential:
        module, _, name = settings.credential.partition(":")
        try:
            factory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise NotConnected(
                f"COMMCREDITS_M365_CREDENTIAL={settings.credential!r} is not 'module:callable' "
                f"that can be imported ({exc})"
            ) from exc
        return connect_m365(
            credential=factory(), base_url=settings.base_url, client_id=settings.client_id, tenant_id=settings.tenant_id
        )
    missing = [n for n in ("tenant_id", "client_id") if not getattr(settings, n)]
    secret = client_secret(settings)
    if not (settings.certificate_path or secret):
        missing.append(f"a client secret ({SECRET_ENV} or the keyring) or a certificate_path")
    if missing:
        raise NotConnected("Microsoft 365 is not configured: missing " + ", ".join(missing) + ". See docs/m365.md.")
    return connect_m365(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        client_secret=None if settings.certificate_path else secret,
        certificate_path=settings.certificate_path,
        base_url=settings.base_url,
        authority=settings.authority,
        credential_options=settings.credential_options,
    )


# ---- signing in from the Microsoft 365 page ----

SIGN_IN_METHODS = {  # what the page offers, in its words
    "secret": "Client secret",
    "certificate": "Certificate file",
    "device": "Device code (an admin signs in)",
    "credential": "Configured credential",
}


def secret_source(settings: M365Settings, env: Mapping[str, str] = os.environ) -> str | None:
    """Where the app's secret would come from now: 'environment', 'keyring', or None."""
    if env.get(SECRET_ENV):
        return "environment"
    return "keyring" if client_secret(settings, env) else None


def keep_secret(client_id: str, secret: str) -> bool:
    """Keep `secret` in the OS keyring under the client id; False when this machine has no keyring."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, client_id, secret)
        return keyring.get_password(KEYRING_SERVICE, client_id) == secret
    except Exception:  # noqa: BLE001 - no keyring backend (a server): the environment variable is the way
        return False


def sign_in_blocker(
    settings: M365Settings, method: str, typed_secret: str = "", env: Mapping[str, str] = os.environ
) -> str | None:
    """Why `method` cannot sign in with these settings yet (a sentence for the page), or None when it can."""
    if method == "credential":
        return None if settings.credential else "No COMMCREDITS_M365_CREDENTIAL is configured."
    missing = [
        words
        for name, words in (("tenant_id", "the tenant (directory) ID"), ("client_id", "the application (client) ID"))
        if not getattr(settings, name)
    ]
    if missing:
        return f"Enter {' and '.join(missing)} first."
    if method == "secret" and not (typed_secret.strip() or client_secret(settings, env)):
        return f"Type the client secret, or set {SECRET_ENV} in the environment the dashboard runs in."
    if method == "certificate":
        if not settings.certificate_path:
            return "Enter the path of the certificate file (PEM with its private key)."
        if not Path(settings.certificate_path).expanduser().is_file():
            return f"No certificate file at {settings.certificate_path}."
    return None


def connect_with(settings: M365Settings, method: str, *, typed_secret: str = "", prompt=None) -> M365Connection:
    """Connect the way the admin chose on the page. Raises NotConnected with the blocker's words."""
    blocker = sign_in_blocker(settings, method, typed_secret)
    if blocker:
        raise NotConnected(blocker)
    if method == "credential":
        return connect_from_settings(settings)
    common = dict(
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        base_url=settings.base_url,
        authority=settings.authority,
        credential_options=settings.credential_options,
    )
    if method == "device":
        return connect_m365(device_code=True, prompt=prompt, **common)
    if method == "certificate":
        return connect_m365(certificate_path=str(Path(settings.certificate_path).expanduser()), **common)
    return connect_m365(client_secret=typed_secret.strip() or client_secret(settings), **common)
