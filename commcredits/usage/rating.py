"""Rate imported calls set-based in DuckDB: Microsoft's charge where it gave one, an ESTIMATE otherwise.

Settlement never uses this table: it draws what Microsoft charged (view microsoft_charge, docs/billing.md).
The rate card and included minutes only estimate (forecasts, what-if, rows that arrive without a charge):
- A row Microsoft charged (operator Microsoft or not given, `charge` present, any license) is 'as_is':
  the charge rounded half-up to the currency's minor unit; 0.00 stays 0.00 (Microsoft counts included minutes).
- A row another operator carried (Operator Connect / Direct Routing) is 'operator': no charge of ours.
- Rows without a charge are estimated ('rate_card', 'included', 'free', 'unrated'):
- Inbound calls are free, except calls into a toll-free number (auto attendants, call queues, conferencing):
  those are rated at the rate card's toll-free price of the number's country. The toll-free number is known
  from the row's `inventoryType` (CSV `Number Type`); only rows without one fall back to the number itself.
- Outbound calls first use the included minutes of the caller's Calling Plan / Audio Conferencing license,
  pooled per usage country, per month, per license capability and scope (domestic / international / Zone A),
  in call time order, sized by the licensed users (never only those seen calling); Calling Minutes (MCOPSTN8)
  are per user; the rest is billed per started minute at the rate card price of the destination (country from
  the E.164 number with `phonenumbers`, and its number type), plus any connection fee.
- A call with no price in the rate card is 'unrated' (charge NULL) and is not settled.

The sample rate card and minute table in `commcredits/data/` are invented: load the real ones from CSV.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import phonenumbers
from babel.numbers import get_currency_precision

from ..errors import InvalidInput
from .call_import import store_of

SAMPLE_RATE_CARD = "sample_rate_card.csv"
SAMPLE_INCLUDED_MINUTES = "sample_included_minutes.csv"

RATE_CARD_COLUMNS = ["destination_country", "number_type", "currency", "price_per_minute", "connection_fee"]
MINUTES_COLUMNS = ["license_capability", "usage_country", "scope", "minutes_per_license"]
OUTBOUND = ("user_out", "user_out_conf", "user_out_transfer", "user_out_forwarding", "conf_out", "ucap_out")
NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
    # shared-cost numbers (e.g. UK 084x) are paid partly by the caller: not toll-free, priced like fixed lines
    # unless the rate card names them (issue 20: they raised false toll-free alerts)
    phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
}
# Included minutes shared by the whole tenant unless listed here: Calling Minutes (MCOPSTN8, in "Microsoft 365 E5
# with Calling Minutes") are per user, not pooled.
PER_USER_MINUTES = ("MCOPSTN8",)
# Audio Conferencing's included dial-out minutes reach any Zone A country ("Country and region zones for Audio
# Conferencing"); an included-minutes row with scope 'zone_a' matches these destinations.
ZONE_A = ("AU", "AT", "BE", "BR", "BG", "CA", "CN", "HR", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HK", "HU", "IN",
          "IE", "IT", "JP", "LU", "MY", "MX", "NL", "NZ", "NO", "PL", "PT", "PR", "RO", "RU", "SG", "SK", "SI", "ZA",
          "KR", "ES", "SE", "CH", "TW", "TH", "GB", "US")


@dataclass(frozen=True)
class RatingReport:
    """How many calls were rated by each method ('as_is' = Microsoft's charge, 'operator' = another carrier's
    call; estimates: 'included', 'rate_card', 'free', 'unrated')."""

    by_method: dict
    destinations_looked_up: int = 0

    @property
    def unrated(self) -> int:
        return self.by_method.get("unrated", 0)

    @property
    def estimated(self) -> int:
        """Rows priced from the rate card and included minutes: estimates, never settled."""
        return sum(n for method, n in self.by_method.items() if method not in ("as_is", "operator"))


def _read_csv(path, columns: list[str], what: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInput("path", f"{path} is not a {what}: it lacks the column(s) {', '.join(missing)}.")
    return frame[columns]


def _sample(name: str):
    return importlib.resources.files("commcredits.data").joinpath(name)


def load_rate_card(target, path: str | Path | None = None) -> int:
    """Replace the rate card with a CSV (columns: destination_country, number_type, currency,
    price_per_minute, connection_fee); no path loads the invented SAMPLE. Returns the number of rates.
    Raises InvalidInput when a column is missing or a price is not a number."""
    with importlib.resources.as_file(_sample(SAMPLE_RATE_CARD)) if path is None else _nullcontext(path) as file:
        frame = _read_csv(file, RATE_CARD_COLUMNS, "rate card")
    return _replace(target, "rate_card", frame, """
        SELECT upper(trim(destination_country)), lower(trim(number_type)), upper(trim(currency)),
               CAST(price_per_minute AS DECIMAL(18, 6)), CAST(coalesce(nullif(trim(connection_fee), ''), '0') AS DECIMAL(18, 6))
        FROM _rating_input""")


def load_included_minutes(target, path: str | Path | None = None) -> int:
    """Replace the included-minutes table with a CSV (columns: license_capability, usage_country ('*' = any),
    scope ('domestic' | 'international' | 'zone_a' | 'any'), minutes_per_license); no path loads the SAMPLE."""
    with importlib.resources.as_file(_sample(SAMPLE_INCLUDED_MINUTES)) if path is None else _nullcontext(path) as file:
        frame = _read_csv(file, MINUTES_COLUMNS, "included-minutes table")
    return _replace(target, "included_minutes", frame, """
        SELECT trim(license_capability), upper(trim(usage_country)), lower(trim(scope)),
               CAST(minutes_per_license AS BIGINT)
        FROM _rating_input""")


def set_license_counts(target, counts: pd.DataFrame) -> int:
    """Replace the licensed-user counts used to size minute pools (columns: license_capability,
    usage_country, licenses). Without them a pool counts the imported tenant's licensed users."""
    return _replace(target, "license_count", counts[["license_capability", "usage_country", "licenses"]], """
        SELECT trim(license_capability), upper(trim(usage_country)), CAST(licenses AS BIGINT) FROM _rating_input""")


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def _replace(target, table: str, frame: pd.DataFrame, select: str) -> int:
    store = store_of(target)
    with store.transaction() as con:
        con.register("_rating_input", frame)
        try:
            con.execute(f"DELETE FROM {table}")  # reference data, not ledger history: replaced as a whole
            try:
                con.execute(f"INSERT INTO {table} {select}")
            except Exception as exc:  # duckdb conversion errors name the bad value
                raise InvalidInput("path", f"cannot load the {table.replace('_', ' ')}: {exc}".splitlines()[0]) from None
        finally:
            con.unregister("_rating_input")
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def destination_of(number: str | None) -> tuple[str | None, str | None]:
    """(ISO country, number type) of an E.164 number; masked digits ('+4420722545**') fall back to the
    country calling code. Number type is 'fixed', 'mobile' or 'toll_free' (None when unknown)."""
    if not number:
        return None, None
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    if not digits:
        return None, None
    masked = any(ch in "*xX#" for ch in str(number))
    if not masked:
        try:
            parsed = phonenumbers.parse("+" + digits, None)
            region = phonenumbers.region_code_for_number(parsed)
            if region and region != "001":
                return region, NUMBER_TYPES.get(phonenumbers.number_type(parsed), "fixed")
        except phonenumbers.NumberParseException:
            pass
    for length in (1, 2, 3):
        region = phonenumbers.region_code_for_country_code(int(digits[:length]))
        if region not in ("ZZ", "001"):
            return region, None
    return None, None


RATE_SQL = """
INSERT INTO call_charge
WITH calls AS (
    SELECT c.usage_id, c.start_at, c.currency AS reported_currency, c.charge AS reported_charge,
           c.call_type, c.license_capability, c.user_id,
           coalesce(c.usage_country_code, c.tenant_country_code) AS usage_country,
           d.destination_country, coalesce(d.number_type, 'fixed') AS number_type,
           ceil(coalesce(c.duration_seconds, 0) / 60)::BIGINT AS minutes,
           CASE WHEN d.destination_country IS NOT NULL
                THEN CASE WHEN d.destination_country = coalesce(c.usage_country_code, c.tenant_country_code)
                          THEN 'domestic' ELSE 'international' END
                WHEN lower(c.destination_context) = 'international' THEN 'international'
                ELSE 'domestic' END AS scope,
           date_trunc('month', c.start_at) AS month,
           -- Number Type / inventoryType names the tenant's number; without it, guess from the number dialled
           coalesce(regexp_matches(lower(c.inventory_type), 'toll[- ]?free'), i.number_type = 'toll_free', false)
               AS toll_free,
           CASE WHEN c.operator IS NOT NULL AND lower(trim(c.operator)) <> 'microsoft' THEN 'operator'
                WHEN c.charge IS NOT NULL THEN 'as_is'
                WHEN c.call_type IN (SELECT unnest($outbound::VARCHAR[])) THEN 'outbound'
                WHEN toll_free THEN 'toll_free_in'
                WHEN c.license_capability = 'MCOPSTNPP' THEN 'outbound'
                ELSE 'free' END AS kind,
           CASE WHEN toll_free THEN coalesce(i.destination_country, d.destination_country,
                                             c.usage_country_code, c.tenant_country_code) END AS toll_free_country
    FROM pstn_call c
    LEFT JOIN phone_destination d ON d.number = c.callee_number
    LEFT JOIN phone_destination i ON i.number = c.callee_number AND c.call_type NOT IN (SELECT unnest($outbound::VARCHAR[]))
),
-- licensed users per call-record capability and usage country, from the imported tenant (audio conferencing
-- dial-out appears in call records as MCOMEETADD)
licensed AS (
    SELECT CASE WHEN p.capability = 'audio_conferencing' THEN 'MCOMEETADD' ELSE p.service_plan_name END
               AS license_capability,
           u.usage_location AS usage_country, count(DISTINCT u.user_id) AS licenses
    FROM user_license l JOIN tenant_user u USING (user_id) JOIN sku_plan p USING (sku_id)
    WHERE NOT list_contains(l.disabled_plans, p.service_plan_id) AND u.usage_location IS NOT NULL
    GROUP BY ALL
),
pooled AS (
    -- included minutes: the first matching row (exact country before '*', exact scope before 'any'/'zone_a').
    -- The pool holds the minutes of every licensed user (counts given, else the imported tenant's users), never
    -- only of those seen calling: that undercounts. Unknown: no pool, the estimate bills every minute.
    SELECT c.*, m.minutes_per_license, m.scope AS pool_scope,
           list_contains($per_user::VARCHAR[], c.license_capability) AS per_user,
           CASE WHEN list_contains($per_user::VARCHAR[], c.license_capability) THEN m.minutes_per_license
                ELSE coalesce(lc.licenses, t.licenses) * m.minutes_per_license END AS pool_minutes
    FROM calls c
    LEFT JOIN LATERAL (
        SELECT minutes_per_license, scope FROM included_minutes m
        WHERE c.kind = 'outbound' AND m.license_capability = c.license_capability
          AND m.usage_country IN (c.usage_country, '*')
          AND (m.scope IN (c.scope, 'any')
               OR (m.scope = 'zone_a' AND list_contains($zone_a::VARCHAR[], c.destination_country)))
        ORDER BY (m.usage_country = '*'), (m.scope = 'any') LIMIT 1
    ) m ON true
    LEFT JOIN license_count lc
           ON lc.license_capability = c.license_capability AND lc.usage_country = c.usage_country
    LEFT JOIN licensed t ON t.license_capability = c.license_capability AND t.usage_country = c.usage_country
),
drawn AS (
    SELECT p.*,
           CASE WHEN pool_minutes IS NULL THEN 0
                ELSE least(minutes, greatest(0, pool_minutes - coalesce(sum(minutes) OVER (
                         PARTITION BY license_capability, usage_country, pool_scope, month,
                                      CASE WHEN per_user THEN user_id END
                         ORDER BY start_at, usage_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))
           END AS included_minutes
    FROM pooled p
),
priced AS (
    SELECT d.*, minutes - included_minutes AS billable_minutes,
           (SELECT r FROM rate_card r
            WHERE r.currency = $currency
              AND r.destination_country = CASE WHEN d.kind = 'toll_free_in' THEN d.toll_free_country ELSE d.destination_country END
              AND r.number_type IN (CASE WHEN d.kind = 'toll_free_in' THEN 'toll_free' ELSE d.number_type END, '*')
            ORDER BY r.number_type = '*' LIMIT 1) AS rate
    FROM drawn d
)
SELECT usage_id, start_at,
       CASE WHEN kind IN ('as_is', 'operator') THEN reported_currency ELSE $currency END AS currency,
       CASE WHEN kind IN ('as_is', 'operator') THEN kind
            WHEN kind = 'free' THEN 'free'
            WHEN billable_minutes = 0 AND included_minutes > 0 THEN 'included'
            WHEN billable_minutes = 0 THEN 'free'
            WHEN rate IS NULL THEN 'unrated'
            ELSE 'rate_card' END AS method,
       coalesce(toll_free_country, destination_country) AS destination_country,
       CASE WHEN kind IN ('free', 'as_is', 'operator') THEN 0 ELSE billable_minutes END AS billable_minutes,
       included_minutes,
       CASE WHEN kind = 'as_is' THEN CASE WHEN e.digits = 0 THEN round(reported_charge, 0)::DECIMAL(18, 2)
                 ELSE round(reported_charge, 2)::DECIMAL(18, 2) END
            WHEN kind = 'operator' THEN NULL
            WHEN kind = 'free' OR billable_minutes = 0 THEN 0::DECIMAL(18, 2)
            WHEN rate IS NULL THEN NULL
            WHEN $digits = 0 THEN round(billable_minutes * rate.price_per_minute + rate.connection_fee, 0)::DECIMAL(18, 2)
            ELSE round(billable_minutes * rate.price_per_minute + rate.connection_fee, 2)::DECIMAL(18, 2)
       END AS charge
FROM priced
LEFT JOIN _currency_digits e ON e.currency = reported_currency
"""


def rate_calls(target, *, currency: str | None = None) -> RatingReport:
    """Rebuild `call_charge` for every imported call; returns how many were rated by each method.

    `currency`: the rate card currency to price in (default: the ledger's currency, else USD)."""
    store = store_of(target)
    currency = (currency or getattr(target, "currency", None) or "USD").upper()
    looked_up = _fill_destinations(store)
    with store.transaction() as con:
        currencies = [r[0] for r in con.execute("SELECT DISTINCT currency FROM pstn_call WHERE currency IS NOT NULL").fetchall()]
        digits = pd.DataFrame(
            {"currency": currencies, "digits": [_digits(c) for c in currencies]}, columns=["currency", "digits"]
        ).astype({"currency": "object", "digits": "int64"})
        con.register("_currency_digits", digits)
        try:
            con.execute("DELETE FROM call_charge")  # derived data: rebuilt from the calls and tables
            con.execute(RATE_SQL, {"outbound": list(OUTBOUND), "currency": currency, "digits": _digits(currency),
                                   "per_user": list(PER_USER_MINUTES), "zone_a": list(ZONE_A)})
        finally:
            _unregister(con, "_currency_digits")
        counts = dict(con.execute("SELECT method, count(*) FROM call_charge GROUP BY method ORDER BY method").fetchall())
    return RatingReport(counts, looked_up)


def _unregister(con, name: str) -> None:
    try:
        con.unregister(name)
    except Exception:  # an aborted transaction refuses it; the original error matters more
        pass


def _digits(currency: str) -> int:
    try:
        return int(get_currency_precision(currency))
    except Exception:  # an unknown code in a call row: keep two decimals, the ledger will refuse a mismatch
        return 2


def _fill_destinations(store) -> int:
    """Look up the country and number type of callee numbers not seen before (once per distinct number)."""
    numbers = [
        r[0]
        for r in store.query(
            "SELECT DISTINCT callee_number FROM pstn_call WHERE callee_number IS NOT NULL "
            "AND callee_number NOT IN (SELECT number FROM phone_destination)"
        )
    ]
    if not numbers:
        return 0
    found = [destination_of(n) for n in numbers]
    frame = pd.DataFrame(
        {"number": numbers, "destination_country": [f[0] for f in found], "number_type": [f[1] for f in found]}
    )
    with store.transaction() as con:
        con.register("_destinations", frame)
        try:
            con.execute("INSERT INTO phone_destination SELECT number, destination_country, number_type FROM _destinations")
        finally:
            con.unregister("_destinations")
    return len(numbers)


def rated_calls(target) -> pd.DataFrame:
    """Every call with its rating, oldest first; `estimate` is true for rows priced from the rate card and
    included minutes (never settled), false for Microsoft's own charge and other operators' calls."""
    return store_of(target).query_df(
        "SELECT *, method NOT IN ('as_is', 'operator') AS estimate FROM call_charge ORDER BY start_at, usage_id")


__all__ = [
    "RatingReport",
    "destination_of",
    "load_included_minutes",
    "load_rate_card",
    "rate_calls",
    "rated_calls",
    "set_license_counts",
]
