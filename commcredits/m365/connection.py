"""A connection to Microsoft 365 through Microsoft Graph, with Microsoft's `msgraph-sdk` and `azure-identity`.

Sign-in: app-only (client secret or certificate, for schedulers and call logs: getPstnCalls takes application
permission only) or device code (an admin at the dashboard; their name goes with every change they apply),
or any azure `TokenCredential`. Secrets come from the environment or the OS keyring, never from the ledger,
a notebook or a log (see settings.py).

Requests go through the SDK's request adapter (auth provider, middleware, httpx) and come back as Graph's own
JSON, so sync writes exactly what a file export holds. The SDK is imported on first use only: it is slow to
import and the dashboard's first page must not wait for it. The SDK is async; a connection runs its own event
loop in a thread, so it works the same from a script, a CLI and a Jupyter kernel (which already runs a loop).
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from ..errors import InvalidInput, M365Error, PermissionMissing
from .graph_permissions import DELEGATED_SCOPES  # what an admin signing in with a device code consents to

GRAPH_V1 = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
RETRY_STATUSES = frozenset({429, 503, 504})  # Graph's throttling guidance: wait Retry-After, then send again
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 120.0  # one wait is never longer than this, whatever Retry-After says
DEFAULT_WAIT_SECONDS = 2.0  # when a throttled answer carries no Retry-After: 2, 4, 8 ... (capped)


@dataclass(frozen=True)
class Wait:
    """One wait for throttling: how long, why (Graph's status), for which request."""

    seconds: float
    status: int
    url: str


@dataclass
class M365Connection:
    """A signed-in Graph client. `mode` is 'app' (application permissions) or 'delegated' (an admin signed in)."""

    credential: Any
    base_url: str = GRAPH_V1
    mode: str = "app"
    client_id: str | None = None
    tenant_id: str | None = None
    scopes: list[str] = field(default_factory=lambda: [GRAPH_SCOPE])
    max_wait: float = MAX_WAIT_SECONDS
    sleep: Callable[[float], None] = time.sleep
    waits: list[Wait] = field(default_factory=list)
    on_wait: Callable[[Wait], None] | None = None
    _adapter: Any = field(default=None, repr=False)
    _loop: Any = field(default=None, repr=False)
    _who: str | None = field(default=None, repr=False)

    # ---- plumbing ----

    def _run(self, coro):
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            threading.Thread(target=self._loop.run_forever, name="commcredits-graph", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def adapter(self):
        """The SDK's request adapter (built on first use: this is where msgraph is imported)."""
        if self._adapter is None:
            self._adapter = self._run(_build_adapter(self.credential, self.base_url, self.scopes))
        return self._adapter

    def client(self):
        """A GraphServiceClient on this connection's adapter (for the SDK's request builders)."""
        from msgraph import GraphServiceClient

        return GraphServiceClient(request_adapter=self.adapter())

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def send(self, method: str, url_or_request, body: Any = None) -> Any:
        """Send one request through the SDK and return Graph's JSON (None for 204), waiting out throttling.

        `url_or_request`: a path under the base URL, a full URL (an @odata.nextLink) or a kiota RequestInformation.
        Raises PermissionMissing (403) or M365Error, with Graph's error code and message."""
        adapter = self.adapter()
        delay = DEFAULT_WAIT_SECONDS
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = _request_info(method, url_or_request, body, self)
            url = request.url
            try:
                raw = self._run(adapter.send_primitive_async(request, "bytes", _error_map()))
                return json.loads(raw) if raw else None
            except Exception as exc:  # noqa: BLE001 - turned into our named errors below
                status = getattr(exc, "response_status_code", None)
                if status in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                    seconds = retry_after_seconds(getattr(exc, "response_headers", None), delay, self.max_wait)
                    delay = min(delay * 2, self.max_wait)
                    self.pause(Wait(seconds, status, url))
                    continue
                raise graph_error(exc, url) from exc
        raise AssertionError("unreachable")

    def pause(self, wait: Wait) -> None:
        """Wait as Graph asked, and remember it for the report."""
        self.waits.append(wait)
        if self.on_wait:
            self.on_wait(wait)
        self.sleep(wait.seconds)

    @property
    def waited_seconds(self) -> float:
        return sum(w.seconds for w in self.waits)

    def get(self, url_or_request) -> Any:
        return self.send("GET", url_or_request)

    def pages(self, first) -> Iterator[dict]:
        """Every page of a collection, following @odata.nextLink until Graph gives none."""
        page = self.get(first)
        while True:
            yield page
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return
            page = self.get(next_link)

    # ---- who is signed in ----

    def who(self) -> str:
        """Who makes changes: the signed-in admin ('Name <upn>') or the app registration."""
        if self._who is None:
            if self.mode == "delegated":
                me = self.get("me?$select=displayName,userPrincipalName")
                name, upn = me.get("displayName"), me.get("userPrincipalName")
                self._who = f"{name} <{upn}>" if name and upn else (upn or name or "signed-in admin")
            else:
                self._who = f"app registration {self.client_id}" if self.client_id else "app-only credential"
        return self._who

    def granted(self) -> set[str] | None:
        """The permissions in the access token (roles for app-only, scp for delegated); None if unreadable."""
        # the same request the SDK's auth provider makes, so a cached token answers (no second sign-in)
        token = self.credential.get_token(*self.scopes, claims=None, enable_cae=True).token
        claims = token_claims(token)
        if claims is None:
            return None
        return set(claims.get("roles") or []) | set(str(claims.get("scp") or "").split())

    def close(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None
        close = getattr(self.credential, "close", None)
        if callable(close):
            close()


# ---------------------------------------------------------------------------------------------- helpers


async def _build_adapter(credential, base_url: str, scopes: list[str]):
    from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from kiota_http.middleware import RetryHandler
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

    host = urlparse(base_url).hostname
    # the provider attaches tokens only for allowed hosts (Graph's by default; a sovereign cloud or a local
    # stand-in must be listed), and refuses plain http except for localhost
    provider = AzureIdentityAuthenticationProvider(credential, scopes=scopes, allowed_hosts=[host] if host else [])
    # our own retry loop waits out 429/503/504 and reports each wait; the SDK's would retry silently
    middleware = [m for m in KiotaClientFactory.get_default_middleware(None) if not isinstance(m, RetryHandler)]
    client = GraphClientFactory.create_with_custom_middleware(middleware)
    adapter = GraphRequestAdapter(provider, client)
    adapter.base_url = base_url.rstrip("/")
    GraphServiceClient(request_adapter=adapter)  # registers the JSON parsers that read Graph's error bodies
    return adapter


def _request_info(method: str, url_or_request, body, connection: M365Connection):
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation

    if isinstance(url_or_request, RequestInformation):
        request = url_or_request
    else:
        request = RequestInformation()
        request.http_method = Method[method.upper()]
        request.url = connection.url(url_or_request)
    request.headers.try_add("Accept", "application/json")
    if body is not None:
        request.headers.try_add("Content-Type", "application/json")
        request.content = json.dumps(body).encode("utf-8")
    return request


def _error_map():
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    return {"XXX": ODataError}


def retry_after_seconds(headers, fallback: float, cap: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), else `fallback`; at most `cap`."""
    value = None
    if headers is not None:
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
        except AttributeError:
            value = None
        if isinstance(value, (list, tuple, set)):
            value = next(iter(value), None)
    seconds = fallback
    if value is not None:
        text = str(value).strip()
        if text.isdigit():
            seconds = float(text)
        else:
            when = email.utils.parsedate_to_datetime(text) if text else None
            if when is not None:
                seconds = max(0.0, (when - datetime.now(UTC)).total_seconds())
    return min(max(seconds, 0.0), cap)


def graph_error(exc: Exception, url: str | None) -> M365Error:
    """Our named error for whatever the SDK raised, with Graph's code and message when it gave them."""
    status = getattr(exc, "response_status_code", None)
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    text = str(exc).strip()
    message = getattr(error, "message", None) or (text.splitlines()[0] if text else type(exc).__name__)
    if type(exc).__name__ in {"ClientAuthenticationError", "CredentialUnavailableError"}:
        return M365Error(
            f"Sign-in to Microsoft Entra ID failed ({message}). Check the tenant id, the client id and "
            "the secret or certificate, and that the app registration still exists.",
            status=401,
            code="SignInFailed",
            url=url,
        )
    if status is None:
        return M365Error(
            f"Microsoft Graph could not be reached ({type(exc).__name__}: {message}). Check the network and try again.",
            url=url,
        )
    cls = PermissionMissing if status == 403 else M365Error
    return cls(
        f"Microsoft Graph answered {status}{f' {code}' if code else ''}: {message}", status=status, code=code, url=url
    )


def token_claims(token: str) -> dict | None:
    """The claims of a JWT access token (not verified: only to tell the admin what was granted)."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def _check_base_url(base_url: str) -> str:
    parsed = urlparse(base_url or "")
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise InvalidInput("base_url", f"{base_url!r} is not a URL such as {GRAPH_V1}")
    if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidInput("base_url", "Microsoft Graph is reached over https only")
    return base_url.rstrip("/")


def connect_m365(
    *,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    certificate_path: str | None = None,
    credential: Any = None,
    device_code: bool = False,
    prompt: Callable[[str, str, datetime], None] | None = None,
    base_url: str = GRAPH_V1,
    authority: str | None = None,
    credential_options: dict | None = None,
) -> M365Connection:
    """Connect to Microsoft 365. Give exactly one of `client_secret`, `certificate_path`, `credential` (any azure
    TokenCredential) or `device_code=True` (an admin signs in at microsoft.com/devicelogin; `prompt(url, code,
    expires_on)` shows them the code). `authority` is the sign-in host for sovereign clouds;
    `credential_options` go to the azure-identity credential. Nothing is sent until the first request."""
    base_url = _check_base_url(base_url)
    given = [
        name
        for name, value in (
            ("client_secret", client_secret),
            ("certificate_path", certificate_path),
            ("credential", credential),
            ("device_code", device_code),
        )
        if value
    ]
    if len(given) != 1:
        raise InvalidInput(
            "credential",
            "give one way to sign in: client_secret, certificate_path, credential "
            "or device_code=True" + (f" (got {', '.join(given)})" if given else ""),
        )
    if credential is not None:
        return M365Connection(credential, base_url, mode=_mode_of(credential), client_id=client_id, tenant_id=tenant_id)
    for name, value in (("tenant_id", tenant_id), ("client_id", client_id)):
        if not value or not str(value).strip():
            raise InvalidInput(
                name,
                f"the app registration's {name.replace('_', ' ')} (Directory / Application "
                "id from the Entra admin center) is needed",
            )
    from azure.identity import CertificateCredential, ClientSecretCredential, DeviceCodeCredential

    options = {"authority": authority} if authority else {}
    options |= credential_options or {}
    if client_secret:
        cred = ClientSecretCredential(tenant_id, client_id, client_secret, **options)
    elif certificate_path:
        cred = CertificateCredential(tenant_id, client_id, certificate_path, **options)
    else:
        cred = DeviceCodeCredential(client_id=client_id, tenant_id=tenant_id, prompt_callback=prompt, **options)
        return M365Connection(
            cred, base_url, mode="delegated", client_id=client_id, tenant_id=tenant_id, scopes=list(DELEGATED_SCOPES)
        )
    return M365Connection(cred, base_url, mode="app", client_id=client_id, tenant_id=tenant_id)


def _mode_of(credential) -> str:
    """'delegated' for credentials that sign a person in, else 'app'."""
    return getattr(credential, "commcredits_mode", None) or (
        "delegated"
        if type(credential).__name__
        in {"DeviceCodeCredential", "InteractiveBrowserCredential", "UsernamePasswordCredential"}
        else "app"
    )
