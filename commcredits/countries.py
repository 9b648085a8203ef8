"""ISO 3166-1 alpha-2 country codes (usage locations, billing addresses) with names for pickers."""

from __future__ import annotations

from babel import Locale

# Babel knows CLDR territories; these two-letter ones are CLDR-only codes, not ISO 3166-1 countries.
_NOT_ISO_3166 = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
ISO_COUNTRIES = (
    frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha()) - _NOT_ISO_3166
)


def country_names(locale: str = "en") -> dict[str, str]:
    """Code -> name in `locale`, sorted by name."""
    territories = Locale.parse(locale).territories
    return dict(sorted(((code, territories[code]) for code in ISO_COUNTRIES), key=lambda item: item[1]))
