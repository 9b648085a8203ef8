"""Exact money: Decimal amounts quantized to the currency's minor unit, and locale-aware formatting."""

from __future__ import annotations

import re
from decimal import Decimal

from babel.core import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
    parse_decimal,
)

from .errors import InvalidAmount, InvalidInput
from .safety import looks_like_card_number

# The ledger stores DECIMAL(18, 2): every currency Communication Credits are sold in has 0 or 2 decimals.
MAX_SUPPORTED_EXPONENT = 2
# One amount (an order, a recharge, a call) is at most a billion: far above any real order, and small enough
# that the ledger's running totals (DECIMAL(18, 2), up to 10**16) hold every sum (see MAX_LEDGER_TOTAL and
# docs/reliability.md). A card number typed as an amount is refused by this bound too.
MAX_AMOUNT = Decimal("1000000000.00")
# Everything ever bought into one ledger; purchases beyond it are refused so balance views never overflow.
MAX_LEDGER_TOTAL = Decimal("100000000000000.00")
# Digits with an optional sign and decimal point: no exponent ("1e6"), no "_" or non-ASCII digits, which
# Python's Decimal would otherwise accept.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)


def currency_exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (USD 2, JPY 0)."""
    code = validate_currency(currency)
    return get_currency_precision(code)


def validate_currency(currency: str) -> str:
    """Return the upper-case ISO 4217 code, or raise InvalidInput naming `currency`."""
    if not isinstance(currency, str) or len(currency.strip()) != 3 or not currency.strip().isalpha():
        raise InvalidInput("currency", f"{currency!r} is not a three-letter ISO 4217 code such as USD or EUR.")
    code = currency.strip().upper()
    if code not in list_currencies():
        raise InvalidInput("currency", f"{code} is not a known ISO 4217 currency.")
    if get_currency_precision(code) > MAX_SUPPORTED_EXPONENT:
        raise InvalidInput("currency", f"{code} has more than {MAX_SUPPORTED_EXPONENT} decimals; not supported.")
    return code


def parse_amount(value, currency: str, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """Turn a Decimal, int or string into an exact amount of `currency`.

    Raises InvalidAmount (naming `field`) for floats, non-numbers, amounts <= 0 (or < 0 with allow_zero),
    and amounts with more digits than the currency has (12.345 USD, 10.5 JPY).
    """

    def fail(text: str) -> InvalidAmount:
        return InvalidAmount(field, f"{field_label(field)}: {text}")

    if isinstance(value, bool) or isinstance(value, float):
        raise fail(f"{value!r} is a float; give the amount as text or Decimal, e.g. '12.50'.")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidAmount(field, f"{field_label(field)} is empty; enter an amount such as 50.00.")
        if not PLAIN_NUMBER.fullmatch(text):
            hint = " without an exponent" if re.search(r"\d[eE][+-]?\d", text) else ""
            raise fail(f"{_shown(value)} is not a number; enter the amount in digits{hint}, such as 50.00.")
        amount = Decimal(text)
    elif isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    else:
        raise fail(f"{_shown(value)} is not an amount; enter a number such as 50.00.")
    if not amount.is_finite():
        raise fail(f"{_shown(value)} is not a finite number.")
    if abs(amount) > MAX_AMOUNT:  # checked before quantize, which cannot represent huge values
        if looks_like_card_number(str(value)):
            raise fail("this looks like a card number; never type card numbers here. Enter an amount such as 50.00.")
        raise fail(
            f"{_shown(value)} is too large: the largest amount accepted is {MAX_AMOUNT:,} {currency}. Check the number."
        )
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent), rounding="ROUND_DOWN"):
        unit = "whole units" if exponent == 0 else f"at most {exponent} decimals"
        raise fail(f"{value} has too many decimals: {currency} amounts have {unit}.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise fail(f"{value} must be greater than zero." if not allow_zero else f"{value} must not be negative.")
    return quantize(amount, currency)


# How forms name each amount field (the words of the Microsoft 365 admin center).
FIELD_LABELS = {
    "amount": "Amount",
    "recharge_amount": "Add this amount",
    "recharge_below": "When balance is below",
    "below": "When balance is below",
}


def field_label(field: str) -> str:
    """The words a person sees for an amount field, so every error names its subject."""
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def _shown(value) -> str:
    """A typed value for an error message: quoted and cut short (people paste odd things)."""
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "…")


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Give `amount` exactly the currency's number of decimals (no rounding beyond what is exact)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def format_money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    """Format an amount for people: format_money(Decimal('1234.5'), 'EUR', 'de_DE') -> '1.234,50 €'."""
    try:
        return format_currency(Decimal(amount), currency, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_currency(Decimal(amount), currency, locale="en_US")


def parse_typed_amount(
    text: str, currency: str, locale: str = "en_US", field: str = "amount", *, allow_zero: bool = False
) -> Decimal:
    """Parse an amount a person typed in a form ('1,250.00' in en_US, '1.250,00' in de_DE; a currency symbol
    is ignored) into an exact amount. Raises InvalidAmount naming `field`."""
    cleaned = str(text or "").strip()
    for symbol in {currency, get_currency_symbol(currency, locale=_safe_locale(locale)), "$", "€", "£", "¥"}:
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace("\u00a0", " ").strip()
    label = field_label(field)
    if not cleaned:
        raise InvalidAmount(field, f"{label} is empty; enter an amount such as 50.00.")
    if looks_like_card_number(cleaned):
        raise InvalidAmount(
            field,
            f"{label}: this looks like a card number; never type card numbers here. Enter an amount such as 50.00.",
        )
    if re.search(r"\d\s*[eE]\s*[+-]?\d", cleaned):
        raise InvalidAmount(
            field, f"{label}: {_shown(text)} uses exponent notation; enter the amount in digits, such as 1000000.00."
        )
    try:
        value = parse_decimal(cleaned, locale=_safe_locale(locale), strict=True)
    except (NumberFormatError, ArithmeticError, ValueError):
        raise InvalidAmount(field, f"{label}: {_shown(text)} is not an amount; enter a number such as 50.00.") from None
    return parse_amount(value, currency, field, allow_zero=allow_zero)


def _safe_locale(locale: str) -> str:
    try:
        Locale.parse(locale)
        return locale
    except (UnknownLocaleError, ValueError):
        return "en_US"
