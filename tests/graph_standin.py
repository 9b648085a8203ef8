"""A local stand-in for Microsoft Graph v1.0 that keeps Graph's documented contract, for tests without the internet.

What it keeps (docs/m365.md cites Microsoft's pages): paging with absolute @odata.nextLink URLs, $select, $top;
getPstnCalls(fromDateTime, toDateTime) with at most 90 days between them (400 otherwise) and 1,000 rows a page;
application-only CallRecords.Read.All; 403 Authorization_RequestDenied when the token lacks the permission;
/me only for delegated tokens; JSON $batch with at most 20 requests, dependsOn either absent or a strict sequence
(400 otherwise), 424 Failed Dependency after a failed request of a sequence, per-request errors inside a 200 batch;
429 with Retry-After when told to throttle. Tokens are unsigned JWTs whose `roles` (app) or `scp` (delegated)
claims say what was granted, as Entra ID access tokens do.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from azure.core.credentials import AccessToken

MAX_BATCH = 20
USER_PAGE_DEFAULT = 100
CALL_PAGE = 1000
READ_USERS = {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
READ_SKUS = {
    "Organization.Read.All",
    "LicenseAssignment.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
}
WRITE_USERS = {"User.ReadWrite.All", "Directory.ReadWrite.All"}
READ_PSTN_CALLS = {"CallRecord-PstnCalls.Read.All", "CallRecords.Read.All"}  # least privileged, and the wider one
ASSIGN = {"LicenseAssignment.ReadWrite.All"} | WRITE_USERS
ALL_APP_ROLES = ("User.ReadWrite.All", "Organization.Read.All", "CallRecords.Read.All")


def make_token(roles=(), scp=(), name=None, upn=None, ttl=3600) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"aud": "https://graph.microsoft.com", "exp": int(time.time()) + ttl}
    if roles:
        claims["roles"] = list(roles)
    if scp:
        claims["scp"] = " ".join(scp)
        claims["name"], claims["upn"] = name, upn
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.stand-in"


class StandinCredential:
    """A TokenCredential (azure.core protocol) handing out stand-in tokens with the given permissions."""

    def __init__(self, roles=ALL_APP_ROLES, scp=(), name=None, upn=None):
        self.roles, self.scp, self.name, self.upn = tuple(roles), tuple(scp), name, upn
        self.commcredits_mode = "delegated" if scp else "app"
        self.scopes_asked: list[tuple] = []

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        self.scopes_asked.append(scopes)
        return AccessToken(make_token(self.roles, self.scp, self.name, self.upn), int(time.time()) + 3600)


def credential_from_env() -> StandinCredential:
    """For Voila kernels in browser tests: COMMCREDITS_M365_CREDENTIAL=graph_standin:credential_from_env."""
    roles = [r for r in os.environ.get("STANDIN_ROLES", ",".join(ALL_APP_ROLES)).split(",") if r]
    return StandinCredential(roles)


def _claims(header: str | None) -> dict | None:
    if not header or not header.startswith("Bearer "):
        return None
    try:
        payload = header[7:].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None


def _error(status: int, code: str, message: str, headers=None):
    return status, {"error": {"code": code, "message": message, "innerError": {"date": _now_text()}}}, headers or {}


def _now_text():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _parse_time(text: str) -> datetime:
    text = unquote(text).strip().strip("'")
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class GraphStandin:
    """Tenant state plus switches for faults. Start with `start()`; `base_url` ends in /v1.0."""

    def __init__(self, users=(), skus=(), calls=(), *, user_page=USER_PAGE_DEFAULT, call_page=CALL_PAGE):
        self.users = [copy.deepcopy(u) for u in users]
        self.skus = [copy.deepcopy(s) for s in skus]
        self.calls = sorted((copy.deepcopy(c) for c in calls), key=lambda c: (c["startDateTime"], c["id"]))
        self.user_page, self.call_page = user_page, call_page
        self.log: list[tuple[str, str]] = []  # (method, path?query) of every request, batch items included
        self.batch_bodies: list[dict] = []  # every $batch body received
        self.throttle: list[dict] = []  # {"match": regex, "times": n, "retry_after": s, "status": 429}
        self.fail: list[dict] = []  # {"match": regex, "after": n, "status": 500}: the (n+1)th match fails
        self.exclusive: list[tuple[str, str]] = []  # skuId pairs that cannot be held together
        self.requires: dict[str, str] = {}  # skuId -> skuId it depends on
        self.location_lag = 0  # assignLicense calls that still miss a just-set usage location (replication)
        self.lock = threading.RLock()
        self.server = None

    # ---- running ----

    def start(self) -> GraphStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                status, payload, headers = standin.dispatch(method, self.path, body, self.headers.get("Authorization"))
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1.0"

    def requests(self, pattern: str) -> list[str]:
        return [p for _, p in self.log if re.search(pattern, p)]

    # ---- dispatch ----

    def dispatch(self, method: str, raw_path: str, body, authorization, *, in_batch=False):
        path = raw_path if raw_path.startswith("/v1.0") else "/v1.0/" + raw_path.lstrip("/")
        with self.lock:
            self.log.append((method, path))
            for rule in self.throttle:
                if rule["times"] > 0 and re.search(rule["match"], f"{method} {path}"):
                    rule["times"] -= 1
                    return _error(
                        rule.get("status", 429),
                        "TooManyRequests",
                        "Too many requests. Please retry after the time in the Retry-After header.",
                        {"Retry-After": str(rule.get("retry_after", 1))},
                    )
            for rule in self.fail:
                if re.search(rule["match"], f"{method} {path}"):
                    if rule["after"] <= 0:
                        return _error(rule.get("status", 500), "UnknownError", "The stand-in was told to fail here.")
                    rule["after"] -= 1
        claims = _claims(authorization)
        if claims is None:
            return _error(401, "InvalidAuthenticationToken", "Access token is empty.")
        granted = set(claims.get("roles") or []) | set(str(claims.get("scp") or "").split())
        app_only = "scp" not in claims
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = unquote(parts.path)[len("/v1.0") :]
        with self.lock:
            if route == "/$batch" and method == "POST" and not in_batch:
                return self._batch(body, authorization)
            if route == "/users" and method == "GET":
                return self._need(granted, READ_USERS) or self._page(self.users, query, path, self.user_page, 999)
            if route == "/subscribedSkus" and method == "GET":
                return self._need(granted, READ_SKUS) or self._page(self.skus, query, path, 10_000, 10_000)
            if route == "/me" and method == "GET":
                if app_only:
                    return _error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
                return (
                    200,
                    _select(
                        {"displayName": claims.get("name"), "userPrincipalName": claims.get("upn"), "id": "me"}, query
                    ),
                    {},
                )
            match = re.fullmatch(
                r"/communications/callRecords/(?:microsoft\.graph\.callRecords\.)?getPstnCalls"
                r"\(fromDateTime=([^,]+),toDateTime=([^)]+)\)",
                route,
            )
            if match and method == "GET":
                if not app_only:
                    return _error(403, "Forbidden", "getPstnCalls supports application permissions only.")
                return self._need(granted, READ_PSTN_CALLS) or self._calls(match, query, path)
            match = re.fullmatch(r"/users/([^/]+)", route)
            if match and method == "PATCH":
                return self._need(granted, WRITE_USERS) or self._patch_user(match.group(1), body or {})
            match = re.fullmatch(r"/users/([^/]+)/assignLicense", route)
            if match and method == "POST":
                return self._need(granted, ASSIGN) or self._assign(match.group(1), body or {})
        return _error(404, "Request_ResourceNotFound", f"Resource not found for the segment '{route}'.")

    @staticmethod
    def _need(granted: set, any_of: set):
        if granted & any_of:
            return None
        return _error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

    def _page(self, rows, query, path, default_top, max_top):
        # Graph pages on the server side too: a page never holds more than the server's page size
        top = min(int(query.get("$top", default_top)), max_top, default_top)
        skip = int(query.get("$skiptoken", 0))
        chunk = [_select(r, query) for r in rows[skip : skip + top]]
        page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#collection", "value": chunk}
        if skip + top < len(rows):
            base = path.split("?")[0]
            keep = {k: v for k, v in query.items() if k not in ("$skiptoken",)}
            keep["$skiptoken"] = str(skip + top)
            page["@odata.nextLink"] = self.root + base + "?" + "&".join(f"{k}={v}" for k, v in keep.items())
        return 200, page, {}

    def _calls(self, match, query, path):
        try:
            start, end = _parse_time(match.group(1)), _parse_time(match.group(2))
        except ValueError:
            return _error(400, "BadRequest", "fromDateTime and toDateTime must be DateTimeOffset values.")
        if end < start:
            return _error(400, "BadRequest", "toDateTime must not be earlier than fromDateTime.")
        if end - start > timedelta(days=90):
            return _error(
                400, "BadRequest", "The fromDateTime and toDateTime values cannot be more than a date range of 90 days."
            )
        rows = [c for c in self.calls if start <= _parse_time(c["startDateTime"]) <= end]
        skip = int(query.get("$skip", 0))
        chunk = rows[skip : skip + self.call_page]
        page = {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.callRecords."
            "pstnCallLogRow)",
            "@odata.count": len(chunk),
            "value": chunk,
        }
        if skip + self.call_page < len(rows):
            page["@odata.nextLink"] = self.root + path.split("?")[0] + f"?$skip={skip + self.call_page}"
        return 200, page, {}

    def _user(self, key):
        key = unquote(key).lower()
        return next((u for u in self.users if u["id"].lower() == key or u["userPrincipalName"].lower() == key), None)

    def _patch_user(self, key, body):
        user = self._user(key)
        if user is None:
            return _error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        location = body.get("usageLocation")
        if location is not None and not re.fullmatch(r"[A-Z]{2}", str(location)):
            return _error(
                400, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'."
            )
        if location and location != user.get("usageLocation") and self.location_lag:
            user["_lag"] = self.location_lag
        user.update(body)
        return 204, None, {}

    def _assign(self, key, body):
        user = self._user(key)
        if user is None:
            return _error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist.")
        if user.get("_lag"):
            user["_lag"] -= 1
            return _error(
                400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location."
            )
        if not user.get("usageLocation"):
            return _error(
                400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location."
            )
        held = {l["skuId"] for l in user.get("assignedLicenses", [])}
        adds = body.get("addLicenses") or []
        removes = set(body.get("removeLicenses") or [])
        after = (held - removes) | {a["skuId"] for a in adds}
        for a in adds:
            sku = next((s for s in self.skus if s["skuId"] == a["skuId"]), None)
            if sku is None or (a["skuId"] not in held and sku["consumedUnits"] >= sku["prepaidUnits"]["enabled"]):
                return _error(
                    400,
                    "Request_BadRequest",
                    f"Subscription with SKU {a['skuId']} does not have any available licenses.",
                )
        for first, second in self.exclusive:
            if {first, second} <= after:
                return _error(
                    400,
                    "Request_BadRequest",
                    f"License assignment failed because service plans {first},{second} are mutually exclusive.",
                )
        for sku, needed in self.requires.items():
            if sku in after and needed not in after:
                return _error(
                    400,
                    "Request_BadRequest",
                    f"License assignment failed because service plan {sku} depends on the service plan(s) {needed}.",
                )
        for s in self.skus:
            if s["skuId"] in after - held:
                s["consumedUnits"] += 1
            if s["skuId"] in held - after:
                s["consumedUnits"] -= 1
        kept = [
            l
            for l in user.get("assignedLicenses", [])
            if l["skuId"] not in removes and l["skuId"] not in {a["skuId"] for a in adds}
        ]
        user["assignedLicenses"] = kept + [
            {"skuId": a["skuId"], "disabledPlans": a.get("disabledPlans", [])} for a in adds
        ]
        return 200, {"id": user["id"], "userPrincipalName": user["userPrincipalName"]}, {}

    def _batch(self, body, authorization):
        self.batch_bodies.append(copy.deepcopy(body))
        requests = (body or {}).get("requests")
        if not isinstance(requests, list) or not requests:
            return _error(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            return _error(400, "BadRequest", f"The number of batch requests exceeds the limit of {MAX_BATCH}.")
        ids = [r.get("id") for r in requests]
        if len(set(ids)) != len(ids):
            return _error(400, "BadRequest", "Batch request ids must be unique.")
        depends = [r.get("dependsOn") for r in requests]
        sequential = all(d == [ids[i - 1]] for i, d in enumerate(depends) if i > 0) and not depends[0]
        if any(depends) and not sequential:
            return _error(400, "BadRequest", "Batch should be either fully sequential or fully parallel")
        responses, failed = [], False
        for request in requests:
            if sequential and any(depends) and failed:
                responses.append(
                    {
                        "id": request["id"],
                        "status": 424,
                        "body": _error(424, "FailedDependency", "Failed dependency")[1],
                    }
                )
                continue
            status, payload, headers = self.dispatch(
                request["method"], request["url"], request.get("body"), authorization, in_batch=True
            )
            failed = failed or status >= 400
            item = {"id": request["id"], "status": status, "headers": headers}
            if payload is not None:
                item["body"] = payload
            responses.append(item)
        return 200, {"responses": list(reversed(responses))}, {}  # Graph may answer in any order


def _select(record: dict, query: dict) -> dict:
    fields = [f.strip() for f in query.get("$select", "").split(",") if f.strip()]
    return {k: v for k, v in record.items() if (k in fields or k == "id" or not fields) and not k.startswith("_")}


# ---------------------------------------------------------------------------------------------- test data


def pstn_row(
    n: int,
    start: datetime,
    charge: str = "0.12",
    upn: str = "ada@fabrikam.com",
    user_id: str = "22222222-0000-4000-8000-000000000001",
) -> dict:
    """A pstnCallLogRow as getPstnCalls returns it: a Communication Credits (MCOPSTNPP) outbound call."""
    end = start + timedelta(seconds=61 + n % 300)
    return {
        "id": f"9c4984c7-6c3c-427d-a30c-{n:012d}",
        "callId": f"{1835317186 + n}_112562680@61.221.3.176",
        "userId": user_id,
        "userPrincipalName": upn,
        "userDisplayName": upn.split("@")[0].title(),
        "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": int((end - start).total_seconds()),
        "charge": float(charge),
        "callType": "user_out",
        "currency": "USD",
        "calleeNumber": "+4420722545**",
        "usageCountryCode": "US",
        "tenantCountryCode": "US",
        "connectionCharge": 0,
        "callerNumber": "+1425555****",
        "destinationContext": "International",
        "destinationName": "United Kingdom",
        "conferenceId": None,
        "licenseCapability": "MCOPSTNPP",
        "inventoryType": "Subscriber",
        "operator": "Microsoft",
        "callDurationSource": "microsoft",
    }


def spread_calls(count: int, first: datetime, days: int) -> list[dict]:
    """`count` calls spread evenly over `days` days from `first`, charges cycling through a few amounts."""
    step = timedelta(days=days) / count
    charges = ("0.12", "1.36", "0.05", "2.40")
    return [pstn_row(i, first + i * step, charges[i % len(charges)]) for i in range(count)]


# ---------------------------------------------------------------------------------------------- sign-in (Entra ID)


class IdentityStandin:
    """A local Microsoft Entra ID token service over TLS, for real azure-identity credentials (client secret and
    device code). Tokens it issues carry `roles` (app) or `scp` (delegated) as Entra ID's do. Point credentials at
    it with authority=`authority` and disable_instance_discovery=True; trust `ca_file` (REQUESTS_CA_BUNDLE)."""

    def __init__(
        self, folder, *, secret="s3cr3t-value", roles=ALL_APP_ROLES, admin=("Megan Bowen", "megan@fabrikam.com")
    ):
        self.secret, self.roles, self.admin = secret, tuple(roles), admin
        self.folder = folder
        self.device_codes: dict[str, dict] = {}
        self.requests: list[str] = []
        self.server = None

    def _certificate(self):
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_file = os.path.join(self.folder, "standin-ca.pem")
        key_file = os.path.join(self.folder, "standin-key.pem")
        with open(self.ca_file, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        return self.ca_file, key_file

    def start(self) -> IdentityStandin:
        import ssl

        identity = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                identity.requests.append("GET " + self.path)
                tenant = self.path.strip("/").split("/")[0]
                base = f"{identity.authority}/{tenant}"
                if self.path.endswith("/.well-known/openid-configuration"):
                    return self._reply(
                        200,
                        {
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                            "issuer": f"{base}/v2.0",
                            "tenant_region_scope": "NA",
                        },
                    )
                self._reply(404, {"error": "not_found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                identity.requests.append("POST " + self.path + " " + form.get("grant_type", ""))
                status, payload = identity.token(self.path, form)
                self._reply(status, payload)

        ca_file, key_file = self._certificate()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca_file, key_file)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def authority(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def approve(self, user_code: str) -> None:
        """The admin typed the code at the verification page and signed in."""
        for entry in self.device_codes.values():
            if entry["user_code"] == user_code:
                entry["approved"] = True

    def token(self, path, form):
        def issued(token):
            return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

        if path.endswith("/oauth2/v2.0/devicecode"):
            code = f"device-{len(self.device_codes) + 1}"
            user_code = f"GH7KQ{len(self.device_codes) + 2}LXP"
            self.device_codes[code] = {"user_code": user_code, "approved": False, "scope": form.get("scope", "")}
            return 200, {
                "device_code": code,
                "user_code": user_code,
                "expires_in": 900,
                "interval": 1,
                "verification_uri": "https://microsoft.com/devicelogin",
                "message": f"To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
                f"and enter the code {user_code} to authenticate.",
            }
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if form.get("client_secret") != self.secret:
                return 401, {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                }
            return issued(make_token(self.roles))
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            entry = self.device_codes.get(form.get("device_code"))
            if entry is None:
                return 400, {
                    "error": "expired_token",
                    "error_description": "AADSTS70020: The provided value for the "
                    "input parameter 'device_code' is not valid.",
                }
            if not entry["approved"]:
                return 400, {"error": "authorization_pending", "error_description": "AADSTS70016: pending"}
            scopes = [s.rsplit("/", 1)[-1] for s in entry["scope"].split() if "." in s.rsplit("/", 1)[-1]]
            status, payload = issued(make_token(scp=scopes, name=self.admin[0], upn=self.admin[1]))
            tenant = path.strip("/").split("/")[0]
            oid, tid = "33333333-0000-4000-8000-000000000001", "44444444-0000-4000-8000-000000000001"
            now = int(time.time())

            def b64(obj):
                return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

            claims = {
                "iss": f"{self.authority}/{tid}/v2.0",
                "aud": form.get("client_id"),
                "sub": oid,
                "oid": oid,
                "tid": tid,
                "name": self.admin[0],
                "preferred_username": self.admin[1],
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "ver": "2.0",
            }
            payload |= {
                "id_token": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.stand-in",
                "client_info": b64({"uid": oid, "utid": tid}),
                "scope": " ".join(scopes),
                "refresh_token": f"refresh-{tenant}",
            }
            return status, payload
        return 400, {"error": "unsupported_grant_type"}
