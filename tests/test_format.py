"""How the dashboard words times, months and tables for an admin."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from commcredits.ui import format as fmt
from commcredits.ui.attention import attention_sentences

NOON_UTC = datetime(2026, 11, 26, 11, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_preference(monkeypatch):
    monkeypatch.delenv("COMMCREDITS_TIMEZONE", raising=False)
    monkeypatch.delenv("HTTP_COOKIE", raising=False)


def test_times_are_in_the_browsers_time_zone_with_month_names(monkeypatch):
    monkeypatch.setenv("HTTP_COOKIE", "username-x=abc; cc_tz=America%2FLos_Angeles")
    assert fmt.instant(NOON_UTC, "en_US") == "Nov 26, 2026, 3:09\u202fAM PST"


def test_the_setting_wins_over_the_browser_and_unknown_zones_fall_back_to_utc(monkeypatch):
    monkeypatch.setenv("HTTP_COOKIE", "cc_tz=America%2FLos_Angeles")
    monkeypatch.setenv("COMMCREDITS_TIMEZONE", "Europe/Berlin")
    assert fmt.instant(NOON_UTC, "en_GB").endswith("12:09 CET")
    monkeypatch.setenv("COMMCREDITS_TIMEZONE", "Mars/Olympus")
    assert fmt.instant(NOON_UTC, "en_US") == "Nov 26, 2026, 11:09\u202fAM UTC"


def test_without_a_preference_times_say_utc():
    assert fmt.instant(pd.Timestamp("2026-11-26 11:09"), "en_US").endswith("11:09\u202fAM UTC")


def test_tables_show_local_time_with_utc_on_hover(monkeypatch):
    monkeypatch.setenv("COMMCREDITS_TIMEZONE", "America/Los_Angeles")
    table = fmt.html_table(
        pd.DataFrame({"at": [pd.Timestamp(NOON_UTC)], "n": [1234]}), instant_columns=("at",), locale="en_US"
    )
    assert 'title="2026-11-26 11:09 UTC"' in table and "3:09\u202fAM PST" in table


def test_months_have_names():
    assert fmt.month("2025-03-01", "en_US") == "March 2025"
    assert fmt.month("2025-03-01", "de_DE") == "März 2025"


def _contrast(foreground: str, background: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_empty_table_text_reads_at_wcag_aa_on_every_page():
    import re

    from commcredits.ui import format as fmt

    colour = re.search(r"\.cc-table \.cc-empty \{ color: (#[0-9a-f]{6})", fmt.STYLE).group(1)
    assert _contrast(colour) >= 4.5 and _contrast("#777777") < 4.5  # the old grey did not
    stylesheet = Path(fmt.__file__).parent / "jupyter/voila/templates/commcredits/commcredits.css"
    # one shared colour, no override in the stylesheet (which may still lay an empty table out on a phone)
    assert not re.search(r"cc-empty[^{]*\{[^}]*color", stylesheet.read_text())


def test_call_counts_in_sentences_are_grouped_for_the_locale():
    summary = pd.DataFrame(
        {"status": ["other_currency"], "calls": [103950], "amount": [Decimal("66306.24")], "currency": ["EUR"]}
    )
    (sentence,) = attention_sentences(summary, "USD", "en_US")
    assert sentence.startswith("103,950 calls charged in EUR") and "€66,306.24" in sentence
    assert attention_sentences(summary, "USD", "de_DE")[0].startswith("103.950 calls")


def test_long_list_positions_and_seat_counts_are_grouped_for_the_locale():
    from commcredits.ui.licenses import seats_html
    from commcredits.ui.long_list import position_text

    assert position_text(1000, 50, 103950, "calls", "de_DE") == "Calls 1.001–1.050 of 103.950"
    assert position_text(1000, 50, 103950, "calls", "en_US") == "Calls 1,001–1,050 of 103,950"
    seats = pd.DataFrame(
        {
            "sku_id": ["0c266dff-15dd-4b49-8397-2bb16070ed52"],
            "product_name": ["Audio Conferencing"],
            "capabilities": [["audio_conferencing"]],
            "capability_status": ["Enabled"],
            "warning_units": [0],
            "free_units": [1200],
            "consumed_units": [3800],
            "enabled_units": [5000],
            "is_bundle": [False],
        }
    )
    assert "3.800 of 5.000" in seats_html(seats, "de_DE") and "1.200" in seats_html(seats, "de_DE")
