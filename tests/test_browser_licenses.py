"""A new admin walks Step 1 -> Step 2 -> Step 3 in real Chromium on a fresh tenant and ends with everyone ready."""

import time

import pytest
from funding_page import fill_purchase, record, review
from playwright.sync_api import expect
from test_license_forms import NO_WAY_TO_CALL, fresh_tenant
from test_licensing_rules import bundle_tenant, resource_tenant

from commcredits.licensing.readiness import readiness, readiness_summary

pytestmark = pytest.mark.browser

FORM_TIMEOUT = 60_000
CLICK_TIMEOUT = 20_000


def open_page(page, url, ready_selector, artifacts, name):
    """Go to `url`, wait until the form can be used, and write how long that took."""
    started = time.monotonic()
    page.goto(url, wait_until="commit", timeout=FORM_TIMEOUT)  # the form, not every asset, is what counts
    page.locator(ready_selector).wait_for(state="visible", timeout=FORM_TIMEOUT)
    seconds = time.monotonic() - started
    (artifacts / f"{name}-timing.txt").write_text(f"{name}: first usable form {seconds:.2f} s after navigation\n")
    return seconds


def follow_nav(page, label, ready_selector, artifacts, name):
    started = time.monotonic()
    page.locator(".cc-nav").get_by_role("link", name=label).click()
    page.locator(ready_selector).wait_for(state="visible", timeout=FORM_TIMEOUT)
    seconds = time.monotonic() - started
    (artifacts / f"{name}-timing.txt").write_text(
        f"{name}: first usable form {seconds:.2f} s after clicking '{label}'\n"
    )
    return seconds


def make_plan(page, expected):
    """Click Plan changes and wait until the plan shows `expected` (a line only the new plan has)."""
    page.get_by_role("button", name="Plan changes").click()
    plan = page.locator(".cc-plan")
    plan.get_by_text(expected).first.wait_for(state="visible", timeout=CLICK_TIMEOUT)
    return plan


def test_new_admin_walks_steps_1_2_3_and_everyone_can_dial_out(page, dashboard_server, artifacts):
    ledger = fresh_tenant(dashboard_server.serve(None))
    base = dashboard_server.base
    # Step 1: the three users who cannot call phone numbers get Audio Conferencing; Cleo also a location
    open_page(page, f"{base}/voila/render/01_licenses.ipynb", ".cc-plan-button", artifacts, "01-licenses")
    # issue 20: the two with a Calling Plan but no Communication Credits can still call within included minutes
    expect(page.locator(".cc-readiness")).to_contain_text("3 users cannot dial out", timeout=CLICK_TIMEOUT)
    expect(page.locator(".cc-readiness")).to_contain_text("2 users can call within their included minutes")
    page.locator(".cc-state select").select_option(label="Has no Audio Conferencing or Calling Plan")
    # the kernel filters the list after the change: wait for it to show just those three
    expect(page.locator(".cc-users select option")).to_have_count(3, timeout=CLICK_TIMEOUT)
    page.get_by_role("button", name="Select all shown").click()
    page.locator(".cc-chosen").get_by_text("3 users chosen").wait_for(timeout=CLICK_TIMEOUT)
    page.locator(".cc-audio-conferencing input").check()
    page.get_by_role("button", name="Plan changes").click()
    problems = page.locator(".cc-problems")
    problems.wait_for(state="visible", timeout=CLICK_TIMEOUT)
    assert "no usage location" in problems.inner_text() and "cleo@fabrikam.com" in problems.inner_text()
    page.locator(".cc-usage-location select").select_option(label="United States (US)")
    plan = make_plan(page, "Set usage location to United States (US)")
    assert plan.inner_text().count("Add Audio Conferencing") == 3
    expect(page.locator(".cc-problems")).to_have_count(0, timeout=CLICK_TIMEOUT)
    with page.expect_download() as download:
        page.locator(".cc-download-powershell").click()
    assert download.value.suggested_filename == "step1-licenses-plan.ps1"
    assert (
        "Update-MgUser -UserId '22222222-0000-4000-8000-000000000003' -UsageLocation US"
        in download.value.path().read_text()
    )
    page.screenshot(path=str(artifacts / "01-licenses-plan.png"), full_page=True)
    page.get_by_role("button", name="Record as done").click()
    page.locator(".cc-status .cc-success").wait_for(state="visible", timeout=CLICK_TIMEOUT)
    expect(page.locator(".cc-status")).to_contain_text(
        "Recorded as done: 4 changes for 3 users.", timeout=CLICK_TIMEOUT
    )
    expect(page.locator(".cc-readiness")).not_to_contain_text(
        "have no Audio Conferencing or Calling Plan", timeout=CLICK_TIMEOUT
    )
    expect(page.locator(".cc-chosen")).to_contain_text(
        "No users match the search and filters · 3 users chosen", timeout=CLICK_TIMEOUT
    )
    page.screenshot(path=str(artifacts / "01-licenses.png"), full_page=True)
    for upn in NO_WAY_TO_CALL:
        assert "MCOMEETADV" in readiness(ledger.store).set_index("user_principal_name").loc[upn, "licenses"]

    # Step 3 before funding says what to do first
    follow_nav(page, "Step 3 · Credit licenses", ".cc-plan-button", artifacts, "03-credit-licenses-unfunded")
    expect(page.locator(".cc-funding-notice")).to_contain_text("record the purchase in Step 2", timeout=CLICK_TIMEOUT)
    assert not page.locator(".cc-plan-box").is_visible()  # the notebook's own check left nothing behind
    page.screenshot(path=str(artifacts / "03-credit-licenses-unfunded.png"), full_page=True)

    # Step 2: fund the organization
    follow_nav(page, "Step 2 · Fund", ".cc-amount input", artifacts, "02-funding")
    fill_purchase(page, "100.00", "MS-100")
    review(page)
    record(page)
    page.locator(".cc-status .cc-success").wait_for(state="visible", timeout=CLICK_TIMEOUT)
    page.screenshot(path=str(artifacts / "02-funding.png"), full_page=True)

    # Step 3: everyone with a calling license who lacks the Communication Credits license gets it
    follow_nav(page, "Step 3 · Credit licenses", ".cc-plan-button", artifacts, "03-credit-licenses")
    expect(page.locator(".cc-funding-notice")).to_contain_text(
        "A purchase is recorded in Step 2", timeout=CLICK_TIMEOUT
    )
    plan = make_plan(page, "Add Communication Credits")
    assert plan.inner_text().count("Add Communication Credits") == 5
    page.screenshot(path=str(artifacts / "03-credit-licenses-plan.png"), full_page=True)
    page.get_by_role("button", name="Record as done").click()
    page.locator(".cc-status .cc-success").wait_for(state="visible", timeout=CLICK_TIMEOUT)
    expect(page.locator(".cc-status")).to_contain_text("All 5 users can dial out.", timeout=CLICK_TIMEOUT)
    expect(page.locator(".cc-readiness")).to_contain_text("All 5 users can dial out.", timeout=CLICK_TIMEOUT)
    page.screenshot(path=str(artifacts / "03-credit-licenses.png"), full_page=True)

    # Step 1 again shows the same
    follow_nav(page, "Step 1 · Licenses", ".cc-plan-button", artifacts, "01-licenses-again")
    expect(page.locator(".cc-readiness")).to_contain_text("All 5 users can dial out.", timeout=CLICK_TIMEOUT)
    assert "Traceback" not in page.content()
    assert bool(readiness(ledger.store)["can_dial_out"].all())
    assert readiness_summary(ledger.store).sentence == "All 5 users can dial out."


@pytest.mark.parametrize("width", [1440, 390])
def test_plans_for_resource_accounts_mca_and_the_bundle_buy_nothing_needless(page, dashboard_server, artifacts, width):
    """Issue 20, looked at in the browser: a resource account that only answers calls gets nothing, a toll-free one
    only the credits license (never a paid Calling Plan); an MCA tenant is planned no credits license; a tenant
    owning only the Teams Phone with Calling Plan bundle is planned that one license."""
    page.set_viewport_size({"width": width, "height": 1400})
    base = dashboard_server.base
    shots = artifacts / f"issue-20-{width}"
    shots.mkdir(exist_ok=True)

    resource_tenant(path=dashboard_server.serve(None))
    open_page(page, f"{base}/voila/render/03_credit_licenses.ipynb", ".cc-plan-button", artifacts, "03-resource")
    plan = make_plan(page, "Add Communication Credits").inner_text()
    assert "cq-tollfree@contoso.com" in plan and "1 user: 1 license to add" in plan
    assert "aa-toll@contoso.com" not in plan and "Calling Plan" not in plan
    page.screenshot(path=str(shots / "step3-resource-accounts.png"), full_page=True)

    fresh_tenant(dashboard_server.serve(None), agreement="MCA")
    open_page(page, f"{base}/voila/render/03_credit_licenses.ipynb", ".cc-plan-button", artifacts, "03-mca")
    expect(page.locator(".cc-funding-notice")).to_contain_text(
        "this step plans no Communication Credits license", timeout=CLICK_TIMEOUT
    )
    make_plan(page, "Nothing to change")
    assert "Add Communication Credits" not in page.locator(".cc-plan").inner_text()
    page.screenshot(path=str(shots / "step3-mca.png"), full_page=True)

    bundle_tenant(path=dashboard_server.serve(None))
    open_page(page, f"{base}/voila/render/01_licenses.ipynb", ".cc-plan-button", artifacts, "01-bundle")
    page.get_by_role("button", name="Select all shown").click()
    page.locator(".cc-chosen").get_by_text("2 users chosen").wait_for(timeout=CLICK_TIMEOUT)
    page.locator(".cc-teams-phone input").check()
    plan = make_plan(page, "Add Teams Phone with Calling Plan").inner_text()
    assert plan.count("Add Teams Phone with Calling Plan") == 2 and "Teams Phone Standard" not in plan
    expect(page.locator(".cc-problems")).to_have_count(0, timeout=CLICK_TIMEOUT)
    page.screenshot(path=str(shots / "step1-bundle.png"), full_page=True)
    assert "Traceback" not in page.content()
