"""Rate imported calls set-based in DuckDB: Microsoft's charge where it gave one, an ESTIMATE otherwise.

View `call_rating` holds every rated call: a call with a reported charge is derived from pstn_call (its number's
country placed once per number in callee_country); only estimates are stored (table call_charge). Settlement
never uses them: it draws what Microsoft charged (view microsoft_charge, docs/billing.md).
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
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from babel.numbers import get_currency_precision

from ..errors import InvalidInput
from ..store import named_sql, store_of
from .destinations import destination_of, fill_destinations, place_numbers

SQL = named_sql("usage_rating")
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the mark before any rating
SAMPLE_RATE_CARD = "sample_rate_card.csv"
SAMPLE_INCLUDED_MINUTES = "sample_included_minutes.csv"

RATE_CARD_COLUMNS = ["destination_country", "number_type", "currency", "price_per_minute", "connection_fee"]
MINUTES_COLUMNS = ["license_capability", "usage_country", "scope", "minutes_per_license"]
OUTBOUND = ("user_out", "user_out_conf", "user_out_transfer", "user_out_forwarding", "conf_out", "ucap_out")
# Included minutes shared by the whole tenant unless listed here: Calling Minutes (MCOPSTN8, in "Microsoft 365 E5
# with Calling Minutes") are per user, not pooled.
PER_USER_MINUTES = ("MCOPSTN8",)
# Audio Conferencing's included dial-out minutes reach any Zone A country ("Country and region zones for Audio
# Conferencing"); an included-minutes row with scope 'zone_a' matches these destinations.
ZONE_A = (
    "AU",
    "AT",
    "BE",
    "BR",
    "BG",
    "CA",
    "CN",
    "HR",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HK",
    "HU",
    "IN",
    "IE",
    "IT",
    "JP",
    "LU",
    "MY",
    "MX",
    "NL",
    "NZ",
    "NO",
    "PL",
    "PT",
    "PR",
    "RO",
    "RU",
    "SG",
    "SK",
    "SI",
    "ZA",
    "KR",
    "ES",
    "SE",
    "CH",
    "TW",
    "TH",
    "GB",
    "US",
)


@dataclass(frozen=True)
class RatingReport:
    """How many calls this run rated by each method ('as_is' = Microsoft's charge, 'operator' = another carrier's
    call; estimates: 'included', 'rate_card', 'free', 'unrated')."""

    by_method: dict
    destinations_looked_up: int = 0  # numbers asked of phonenumbers (the rest are placed in SQL)
    unrated: int = 0  # calls in the whole ledger still without a price (not even an estimate)

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


def load_rate_card(ledger, path: str | Path | None = None) -> int:
    """Replace the rate card with a CSV (columns: destination_country, number_type, currency,
    price_per_minute, connection_fee); no path loads the invented SAMPLE. Returns the number of rates.
    Raises InvalidInput when a column is missing or a price is not a number."""
    with importlib.resources.as_file(_sample(SAMPLE_RATE_CARD)) if path is None else nullcontext(path) as file:
        frame = _read_csv(file, RATE_CARD_COLUMNS, "rate card")
    return _replace(
        ledger,
        "rate_card",
        frame,
        """
        SELECT upper(trim(destination_country)), lower(trim(number_type)), upper(trim(currency)),
               CAST(price_per_minute AS DECIMAL(18, 6)), CAST(coalesce(nullif(trim(connection_fee), ''), '0') AS DECIMAL(18, 6))
        FROM _rating_input""",
    )


def load_included_minutes(ledger, path: str | Path | None = None) -> int:
    """Replace the included-minutes table with a CSV (columns: license_capability, usage_country ('*' = any),
    scope ('domestic' | 'international' | 'zone_a' | 'any'), minutes_per_license); no path loads the SAMPLE."""
    with importlib.resources.as_file(_sample(SAMPLE_INCLUDED_MINUTES)) if path is None else nullcontext(path) as file:
        frame = _read_csv(file, MINUTES_COLUMNS, "included-minutes table")
    return _replace(
        ledger,
        "included_minutes",
        frame,
        """
        SELECT trim(license_capability), upper(trim(usage_country)), lower(trim(scope)),
               CAST(minutes_per_license AS BIGINT)
        FROM _rating_input""",
    )


def set_license_counts(ledger, counts: pd.DataFrame) -> int:
    """Replace the licensed-user counts used to size minute pools (columns: license_capability,
    usage_country, licenses). Without them a pool counts the imported tenant's licensed users."""
    return _replace(
        ledger,
        "license_count",
        counts[["license_capability", "usage_country", "licenses"]],
        """
        SELECT trim(license_capability), upper(trim(usage_country)), CAST(licenses AS BIGINT) FROM _rating_input""",
    )


def _replace(ledger, table: str, frame: pd.DataFrame, select: str) -> int:
    store = store_of(ledger)
    with store.transaction() as con:
        con.register("_rating_input", frame)
        try:
            con.execute(f"DELETE FROM {table}")  # reference data, not ledger history: replaced as a whole
            con.execute("UPDATE rating_mark SET estimates_current = false")  # estimates are redone
            try:
                con.execute(f"INSERT INTO {table} {select}")
            except Exception as exc:  # duckdb conversion errors name the bad value
                raise InvalidInput(
                    "path", f"cannot load the {table.replace('_', ' ')}: {exc}".splitlines()[0]
                ) from None
        finally:
            con.unregister("_rating_input")
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def rate_calls(ledger, *, currency: str | None = None) -> RatingReport:
    """Rate the calls not rated yet; returns how many this run rated by each method.

    A call with Microsoft's charge (or another operator's) is rated once, when it arrives, and never again.
    Estimates are computed only for calls without a charge: redone for the months holding a new such call
    (included minutes pool per month), and for every month after the rate card, included minutes, license counts
    or `currency` changed. `currency`: the rate card currency to price estimates in (default: the ledger's
    currency, else USD)."""
    store = store_of(ledger)
    currency = (currency or getattr(ledger, "currency", None) or "USD").upper()
    with store.transaction() as con:
        pools = con.execute(SQL["pool_inputs"]).fetchall()[0][0]
        mark, months = _select_calls_to_rate(con, currency, pools)
        looked_up = fill_destinations(con, SQL["numbers_to_type"], {"outbound": list(OUTBOUND)})
        looked_up += place_numbers(con, SQL["numbers_to_place"])
        con.execute(SQL["keep_placed_numbers"])
        counts = dict(con.execute(SQL["reported_counts"]).fetchall())
        con.execute(SQL["forget_month_estimates"], months)
        con.execute(
            SQL["rate"],
            {
                "outbound": list(OUTBOUND),
                "currency": currency,
                "digits": _digits(currency),
                "per_user": list(PER_USER_MINUTES),
                "zone_a": list(ZONE_A),
            },
        )
        counts.update(con.execute(SQL["counts_by_method"], months).fetchall())
        (unrated,) = con.execute(SQL["unrated_in_ledger"]).fetchall()[0]
        con.execute(SQL["set_mark"], {"mark": mark, "currency": currency, "pool_inputs": pools})
        for view in ("_rate_input", "_rate_new", "_rating_candidates"):
            con.execute(f"DROP VIEW IF EXISTS {view}")
        for table in ("_rate_unrated", "_rate_months", "_number_country", "_numbers_to_place"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return RatingReport(dict(sorted(counts.items())), looked_up, unrated)


def _select_calls_to_rate(con, currency: str, pools: str) -> tuple[datetime, dict]:
    """Stage the new calls in _rate_new and the calls to estimate in _rate_input (see sql/usage_rating.sql);
    return the rating mark they start from and the bounds of the months to estimate ($first, $after). Without a
    mark (a new ledger, one rated before marks existed, or before charged calls stopped being stored in
    call_charge) every call is rated afresh."""
    con.execute(SQL["rating_candidates"])
    found = con.execute(SQL["mark"]).fetchall()
    if found and found[0][4] is not None:
        mark, rated_currency, current, rated_pools, rated = found[0]
        current = current and rated_pools == pools
    else:
        con.execute("DELETE FROM call_charge")  # derived data: rebuilt from the calls and tables
        con.execute("DELETE FROM callee_country")
        mark, rated_currency, current, rated = NEVER, currency, False, 0
    con.execute(SQL["new_rows"].format(mark=_literal(mark)))
    if con.execute(SQL["missed_rows"], {"rated": rated}).fetchall()[0][0] != 0:
        con.execute(SQL["unrated_rows"], {"rated": rated})
        con.execute("CREATE OR REPLACE TEMP VIEW _rate_new AS SELECT * FROM _rate_unrated")
    con.execute(SQL["estimate_months"], {"stale": not current or rated_currency != currency})
    first, after = (bound or NEVER for bound in con.execute(SQL["month_bounds"]).fetchone())  # NEVER: none
    con.execute(SQL["rate_input"].format(first=_literal(first), after=_literal(after)))
    return mark, {"first": first, "after": after}


def _literal(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment.isoformat()}'"


def _digits(currency: str) -> int:
    try:
        return int(get_currency_precision(currency))
    except Exception:  # an unknown code in a call row: keep two decimals, the ledger will refuse a mismatch
        return 2


def rated_calls(ledger) -> pd.DataFrame:
    """Every call with its rating, oldest first; `estimate` is true for rows priced from the rate card and
    included minutes (never settled), false for Microsoft's own charge and other operators' calls."""
    return store_of(ledger).query_df(
        "SELECT *, method NOT IN ('as_is', 'operator') AS estimate FROM call_rating ORDER BY start_at, usage_id"
    )


__all__ = [
    "RatingReport",
    "destination_of",
    "load_included_minutes",
    "load_rate_card",
    "rate_calls",
    "rated_calls",
    "set_license_counts",
]
