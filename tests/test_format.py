"""How the dashboard words times, months and tables for an admin."""

from datetime import datetime, timezone

import pandas as pd
import pytest

from commcredits.ui import format as fmt

NOON_UTC = datetime(2026, 11, 26, 11, 9, tzinfo=timezone.utc)


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
    table = fmt.html_table(pd.DataFrame({"at": [pd.Timestamp(NOON_UTC)], "n": [1234]}), instant_columns=("at",),
                           locale="en_US")
    assert 'title="2026-11-26 11:09 UTC"' in table and "3:09\u202fAM PST" in table


def test_months_have_names():
    assert fmt.month("2025-03-01", "en_US") == "March 2025"
    assert fmt.month("2025-03-01", "de_DE") == "März 2025"
