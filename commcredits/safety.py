"""Small guards every edge uses: no card numbers kept, no spreadsheet formulas exported.

PCI DSS forbids storing a full card number (PAN) where it does not belong; a 13-19 digit run that passes
the Luhn check is treated as one. OWASP's "CSV Injection" guidance: a cell starting with = + - @ tab or CR is
run as a formula by Excel and LibreOffice, so exports prefix such text with a single quote.
"""

from __future__ import annotations

import re

# 13-19 digits, optionally grouped by single spaces or dashes, as people type card numbers
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def luhn_valid(digits: str) -> bool:
    """True if the digit string passes the Luhn (mod 10) check used by payment cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True if `text` contains 13-19 digits (spaces or dashes between them allowed) that pass the Luhn check."""
    for match in _DIGIT_RUN.finditer(str(text or "")):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def neutralise_formula(value):
    """A spreadsheet cell value that is shown as text, never run: text starting with = + - @ tab or CR gets
    a leading single quote. Other values (numbers, None) are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_formula_sql(column: str) -> str:
    """The same rule as `neutralise_formula`, as a DuckDB expression over a quoted text column (for COPY)."""
    starts = ", ".join(f"chr({ord(c)})" for c in FORMULA_START)
    return f"CASE WHEN left({column}, 1) IN ({starts}) THEN chr(39) || {column} ELSE {column} END"
