"""Exact money: Decimal amounts quantized to the currency's minor unit, and locale-aware formatting."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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

# The ledger stores DECIMAL(18, 2): every currency Communication Credits are sold in has 0 or 2 decimals.
MAX_SUPPORTED_EXPONENT = 2
MAX_AMOUNT = Decimal("9999999999999999.99")


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
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidAmount(field, f"{value!r} is a float; give the amount as text or Decimal, e.g. '12.50'.")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidAmount(field, "is empty; enter an amount such as 50.00.")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise InvalidAmount(field, f"{value!r} is not a number; enter an amount such as 50.00.") from None
    elif isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    else:
        raise InvalidAmount(field, f"{value!r} is not an amount; enter a number such as 50.00.")
    if not amount.is_finite():
        raise InvalidAmount(field, f"{value!r} is not a finite number.")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent), rounding="ROUND_DOWN"):
        unit = "whole units" if exponent == 0 else f"at most {exponent} decimals"
        raise InvalidAmount(field, f"{value} has too many decimals: {currency} amounts have {unit}.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(field, f"{value} must be greater than zero." if not allow_zero else f"{value} must not be negative.")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(field, f"{value} is larger than the ledger can hold.")
    return quantize(amount, currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Give `amount` exactly the currency's number of decimals (no rounding beyond what is exact)."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def format_money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    """Format an amount for people: format_money(Decimal('1234.5'), 'EUR', 'de_DE') -> '1.234,50 €'."""
    try:
        return format_currency(Decimal(amount), currency, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_currency(Decimal(amount), currency, locale="en_US")


def parse_typed_amount(text: str, currency: str, locale: str = "en_US", field: str = "amount", *,
                       allow_zero: bool = False) -> Decimal:
    """Parse an amount a person typed in a form ('1,250.00' in en_US, '1.250,00' in de_DE; a currency symbol
    is ignored) into an exact amount. Raises InvalidAmount naming `field`."""
    cleaned = str(text or "").strip()
    for symbol in {currency, get_currency_symbol(currency, locale=_safe_locale(locale)), "$", "€", "£", "¥"}:
        cleaned = cleaned.replace(symbol, "")
    cleaned = cleaned.replace("\u00a0", " ").strip()
    if not cleaned:
        raise InvalidAmount(field, "is empty; enter an amount such as 50.00.")
    try:
        value = parse_decimal(cleaned, locale=_safe_locale(locale), strict=True)
    except NumberFormatError:
        raise InvalidAmount(field, f"{text!r} is not an amount; enter a number such as 50.00.") from None
    return parse_amount(value, currency, field, allow_zero=allow_zero)


def _safe_locale(locale: str) -> str:
    try:
        Locale.parse(locale)
        return locale
    except (UnknownLocaleError, ValueError):
        return "en_US"
