"""Walk the Microsoft 365 page and Apply in Microsoft 365 in real Chromium, Voila and msgraph-sdk against the stand-in."""

from datetime import UTC, datetime, timedelta

import pytest
from graph_standin import spread_calls
from playwright.sync_api import expect
from test_browser_licenses import CLICK_TIMEOUT, follow_nav, open_page
from test_license_forms import fresh_tenant
from test_m365_apply import standin_for

from commcredits.licensing.catalog import AUDIO_CONFERENCING_SKU

pytestmark = pytest.mark.browser
SLOW = 60_000  # the first Graph call imports the SDK in the kernel


def test_connect_sync_and_apply_in_microsoft_365(page, dashboard_server, artifacts):
    ledger = fresh_tenant(dashboard_server.serve(None))
    ledger.add_funds("100.00", at=datetime.now(UTC) - timedelta(days=3), order_id="PO-1")
    standin = standin_for(ledger, audio_seats=3)  # Microsoft 365 has 2 free Audio Conferencing seats
    standin.calls = spread_calls(40, datetime.now(UTC) - timedelta(days=2), 1)
    # the app registration, as an admin writes it in the config file (the server's COMMCREDITS_CONFIG)
    dashboard_server.config.write_text(
        f'[m365]\nbase_url = "{standin.base_url}"\ncredential = "graph_standin:credential_from_env"\n'
        'tenant_id = "fabrikam.onmicrosoft.com"\nclient_id = "11111111-2222-3333-4444-555555555555"\n'
    )
    page.set_default_navigation_timeout(120_000)  # a kernel starting on a busy 2-core machine
    try:
        base = dashboard_server.base
        open_page(
            page,
            f"{base}/voila/render/06_m365.ipynb",
            ".cc-connect-app button, button.cc-connect-app",
            artifacts,
            "06-m365",
        )
        expect(page.locator(".cc-last-sync")).to_contain_text("No sync yet.")
        page.get_by_role("button", name="Connect with the app registration").click()
        expect(page.locator(".cc-self-test")).to_contain_text(
            "All 5 permissions the workbook needs are granted.", timeout=SLOW
        )
        expect(page.locator(".cc-connection-status")).to_contain_text("Connected as app registration")
        on_a_phone_every_permission_and_its_state_is_on_screen(page, artifacts)
        page.get_by_role("button", name="Sync now").click()
        expect(page.locator(".cc-status")).to_contain_text("Sync finished.", timeout=SLOW)
        expect(page.locator(".cc-last-sync")).to_contain_text("40 new")
        expect(page.locator(".cc-last-sync")).to_contain_text("40 settled")
        assert "Traceback" not in page.content()
        page.screenshot(path=str(artifacts / "06-m365-synced.png"), full_page=True)

        follow_nav(page, "Step 1 · Licenses", ".cc-plan-button", artifacts, "01-licenses-m365")
        page.locator(".cc-state select").select_option(label="Has no Audio Conferencing or Calling Plan")
        expect(page.locator(".cc-users select option")).to_have_count(3, timeout=CLICK_TIMEOUT)
        page.get_by_role("button", name="Select all shown").click()
        page.locator(".cc-audio-conferencing input").check()
        page.locator(".cc-usage-location select").select_option(label="United States (US)")
        page.get_by_role("button", name="Plan changes").click()
        expect(page.locator(".cc-plan")).to_contain_text("Add Audio Conferencing", timeout=CLICK_TIMEOUT)
        # the sync brought Microsoft 365's real seat count (2 free, not 9): the plan already knows
        expect(page.locator(".cc-problems")).to_contain_text("Not enough free")
        expect(page.get_by_role("button", name="Record as done")).to_be_visible()
        page.get_by_role("button", name="Apply in Microsoft 365").click()
        result = page.locator(".cc-m365-result")
        expect(result).to_contain_text("Microsoft 365 applied the changes for 2 of 2 users.", timeout=SLOW)
        expect(result).to_contain_text("applied by app registration 11111111-2222-3333-4444-555555555555")
        expect(page.locator(".cc-apply-results")).to_contain_text("Applied in Microsoft 365.")
        page.screenshot(path=str(artifacts / "01-licenses-applied-in-m365.png"), full_page=True)
        assert "Traceback" not in page.content()
    finally:
        standin.stop()
    assigned = [u for u in standin.users if AUDIO_CONFERENCING_SKU in {l["skuId"] for l in u["assignedLicenses"]}]
    assert len(assigned) == 1 + 2  # Eve had it; two more got it in Microsoft 365
    history = ledger.store.query("SELECT DISTINCT applied_by FROM m365_license_history")
    assert history == [("app registration 11111111-2222-3333-4444-555555555555",)]


# Cells of the permissions table, and of the setup guide's tables, that end past the screen's right edge or are
# hidden in their table's own sideways scroll
CELLS_OFF_SCREEN = """() => [...document.querySelectorAll('.cc-permissions td, #cc-m365-guide td')]
  .filter(td => { const r = td.getBoundingClientRect(), t = td.closest('table');
                  return r.width > 0 && (r.right > document.documentElement.clientWidth + 1
                                         || t.scrollWidth > t.clientWidth + 1); })
  .map(td => (td.getAttribute('data-label') || '') + ': ' + td.textContent.trim().slice(0, 40)).slice(0, 5)"""

# A permission's name taller than two lines: squeezed into a narrow column beside its label, a letter or two a line
PERMISSIONS_BROKEN_UP = """() => [...document.querySelectorAll('.cc-permissions td code')]
  .filter(c => c.getBoundingClientRect().height > 3 * parseFloat(getComputedStyle(c).fontSize))
  .map(c => c.textContent)"""


def on_a_phone_every_permission_and_its_state_is_on_screen(page, artifacts):
    """At 390 px each permission row is a block: what the workbook does, the permission, Granted, what to do."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 900})
    page.locator("#cc-m365-guide summary").click()  # the setup guide open, with its tables
    expect(page.locator("#cc-m365-guide")).to_have_attribute("open", "")
    granted = page.locator(".cc-permissions td.cc-ok")
    expect(granted).to_have_count(5)
    for cell in granted.all():
        cell.scroll_into_view_if_needed()
        assert cell.inner_text() == "Granted" and cell.is_visible()
    assert page.evaluate(CELLS_OFF_SCREEN) == []
    # each cell's text sits under its column's name, the full width: a permission's name reads on one line
    assert page.evaluate(PERMISSIONS_BROKEN_UP) == []
    page.set_viewport_size({"width": 390, "height": 3000})  # Voila scrolls in its own box: the whole table in view
    page.locator(".cc-permissions").screenshot(path=str(artifacts / "06-m365-permissions-390.png"))
    page.locator("#cc-m365-guide summary").click()
    page.set_viewport_size(size)
