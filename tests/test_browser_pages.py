"""Every admin page in real Chromium, served as admins get it (token, warm kernels): at 1440, 1024 and 390 px
nothing runs off the edge and no label is cut, axe finds no serious or critical problem, and screenshots land
in artifacts/pages/. Also: the token is required, only admin pages are served, the keyboard works (Enter
submits, focus moves to the next action), a page shown again reads the ledger again, times are the admin's."""

import re
import shutil
import urllib.error
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from page_settle import settle
from playwright.sync_api import expect
from voila_server import NOTEBOOKS, TEST_TOKEN

import commcredits as cc
from commcredits.pages import PAGES as NAV_PAGES
from commcredits.tenant_setup import record_setup
from commcredits.ui.server import admin_pages

pytestmark = pytest.mark.browser

WIDTHS = (1440, 1024, 390)
PAGES = admin_pages(NOTEBOOKS)
LABELS = dict(NAV_PAGES)
LOAD = 180_000  # the first page of a new server on a busy 2-core machine
KERNEL = 30_000

# Elements sticking out past the right edge (wide tables and charts scroll inside their own box), fields and
# buttons running past the box that holds them (their right border cut off), and labels or buttons cut short by
# an ellipsis ("Save set…").
LAYOUT_PROBLEMS = """() => {
  const limit = document.documentElement.clientWidth + 1;
  const name = e => (e.tagName + '.' + String(e.className).trim().split(/\\s+/).join('.')).slice(0, 90);
  const out = [...document.querySelectorAll('#rendered_cells *')].filter(e => {
    if (e.closest('table.cc-table, .js-plotly-plot')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > limit;
  }).map(e => 'off the edge: ' + name(e));
  const cut = [...document.querySelectorAll('#rendered_cells .widget-label, #rendered_cells .widget-label-basic, ' +
                                           '#rendered_cells button')]
    .filter(e => e.offsetWidth > 0 && e.scrollWidth > e.clientWidth + 1).map(e => 'label cut: ' + e.textContent);
  // a field or button running into its box's scroll area: its right border is cut off (the window is not reached)
  const inBox = [...document.querySelectorAll('#rendered_cells input, #rendered_cells select, ' +
                                             '#rendered_cells textarea, #rendered_cells button')].filter(e => {
    if (e.closest('table.cc-table, .js-plotly-plot') || e.type === 'hidden' || e.type === 'file') return false;
    const r = e.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) return false;
    for (let a = e.parentElement; a && a.id !== 'rendered_cells'; a = a.parentElement) {
      if (getComputedStyle(a).overflowX === 'visible') continue;
      if (r.right > a.getBoundingClientRect().left + a.clientLeft + a.clientWidth + 0.5) return true;
    }
    return false;
  }).map(e => 'cut by its box: ' + name(e) + ' ' + (e.placeholder || e.textContent || '').trim().slice(0, 30));
  return out.concat(cut, inBox).slice(0, 10);
}"""


# Tap targets under 24 x 24 px (WCAG 2.2, 2.5.8): a checkbox or radio button counts with its label; a link inside
# a sentence is exempt (the criterion's "inline" exception).
SMALL_TARGETS = """() => {
  const inSentence = a => a.tagName === 'A' && getComputedStyle(a).display === 'inline'
    && a.parentElement.textContent.trim() !== a.textContent.trim();
  return [...document.querySelectorAll('#rendered_cells button, #rendered_cells select, #rendered_cells input, '
                                       + '#rendered_cells a[href], #rendered_cells [role=button]')]
    .filter(e => e.offsetParent !== null && e.type !== 'hidden' && e.type !== 'file' && !inSentence(e))
    .map(e => [e, (e.closest('label') || e).getBoundingClientRect()])
    .filter(([e, r]) => r.height < 23.5 || r.width < 23.5)
    .map(([e, r]) => `${e.tagName.toLowerCase()} "${(e.textContent || e.value || e.title || '').trim().slice(0, 40)}" `
                     + `${Math.round(r.width)}x${Math.round(r.height)}`).slice(0, 10);
}"""

# Amounts in a table that are off screen or hidden in the table's own sideways scroll
HIDDEN_MONEY = """() => [...document.querySelectorAll('#rendered_cells table.cc-table tbody tr td.cc-money')]
  .filter(td => { const r = td.getBoundingClientRect(), t = td.closest('table').getBoundingClientRect();
                  return r.width > 0 && (r.right > t.right + 1 || r.right > document.documentElement.clientWidth + 1); })
  .map(td => td.closest('table').className + ': ' + (td.getAttribute('data-label') || td.textContent)).slice(0, 5)"""


# Cells of a table cut off at its right edge or the window's, or hidden in its own sideways scroll
CUT_CELLS = """table => [...table.querySelectorAll('th, td')].filter(c => {
    const r = c.getBoundingClientRect(), t = table.getBoundingClientRect();
    return r.width > 0 && (r.right > t.right + 1 || r.right > document.documentElement.clientWidth + 1
                           || c.scrollWidth > c.clientWidth + 1);
  }).map(c => c.textContent.slice(0, 40))"""


@pytest.fixture
def server(served):
    """The shared dashboard (tests/conftest.py), serving a fresh copy of the demo tenant."""
    return served


def serious_accessibility_problems(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def open_page(page, server, name):
    page.goto(server.url(name, token=False), wait_until="commit")
    page.locator("#loading").wait_for(state="detached", timeout=LOAD)  # Voila removes it when all cells ran
    page.locator(".cc-nav").first.wait_for(state="visible", timeout=LOAD)
    page.locator("#rendered_cells button:visible").first.wait_for(state="visible", timeout=LOAD)


def screenshot(page, path) -> None:
    """The whole page: Voila scrolls inside its own container, so the window grows to the content first."""
    width = page.viewport_size["width"]
    height = page.evaluate(
        "() => Math.max(document.body.scrollHeight, document.querySelector('#rendered_cells').scrollHeight)"
    )
    page.set_viewport_size({"width": width, "height": min(max(height + 40, 800), 9000)})
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 900})


@pytest.mark.parametrize("name", PAGES)
def test_page_fits_every_width_and_passes_axe(page, server, name, artifacts):
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    leaving = []  # every asset is served by the dashboard: a locked-down network blocks public CDNs
    page.on(
        "request", lambda r: leaving.append(r.url) if not r.url.startswith((server.base, "data:", "blob:")) else None
    )
    open_page(page, server, name)
    title = LABELS.get(name)
    if title:
        expect(page).to_have_title(f"{title} · Communication Credits")
    settle(page)  # charts and late widgets
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        settle(page, quiet=200)
        assert page.evaluate(LAYOUT_PROBLEMS) == [], f"{name} at {width} px"
        screenshot(page, folder / f"{name.removesuffix('.ipynb')}-{width}.png")
        assert serious_accessibility_problems(page) == [], f"{name} at {width} px"
        assert page.evaluate(SMALL_TARGETS) == [], f"tap targets under 24 px: {name} at {width} px"
        assert page.evaluate(HIDDEN_MONEY) == [], f"amounts scrolled out of sight: {name} at {width} px"
    assert "Traceback" not in page.content()
    assert leaving == [], f"{name} asked for assets outside the dashboard"


def test_text_fields_get_the_same_focus_ring_as_buttons(page, server):
    open_page(page, server, "05_alerts.ipynb")
    field = page.locator(".cc-smtp-host input")
    page.locator(".cc-email-from input").focus()
    page.keyboard.press("Tab")  # the keyboard way in
    expect(field).to_be_focused(timeout=KERNEL)
    ring = field.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]")
    assert ring == ["solid", "3px"]
    page.get_by_role("button", name="Save settings").focus()
    button = page.get_by_role("button", name="Save settings")
    assert button.evaluate("e => getComputedStyle(e).outlineWidth") == "3px"


def test_step1_hint_on_a_touch_screen_does_not_ask_for_ctrl_click(browser, server, artifacts):
    phone = browser.new_context(
        extra_http_headers={"Authorization": f"token {TEST_TOKEN}"},
        has_touch=True,
        is_mobile=True,
        viewport={"width": 390, "height": 900},
    )
    page = phone.new_page()
    open_page(page, server, "01_licenses.ipynb")
    hint = page.locator(".cc-hint", has_text="pick users").first
    expect(hint).to_contain_text("tap each one")
    assert "Ctrl" not in hint.inner_text()
    assert page.evaluate(SMALL_TARGETS) == []
    phone.close()


@pytest.fixture
def own_server(demo_db_path, artifacts, tmp_path):
    """A dashboard server of its own, as an admin starts it: the token's login cookie is checked from a
    browser that never saw the shared server."""
    from voila_server import dashboard

    db = tmp_path / "ledger.duckdb"
    shutil.copy(demo_db_path, db)
    with dashboard(db, log_path=artifacts / "voila-token.log") as started:
        started.wait_until_warm()
        yield started


def test_token_is_required_and_only_admin_pages_are_served(browser, own_server):
    server = own_server
    stranger = browser.new_context()  # no token
    page = stranger.new_page()
    page.goto(f"{server.base}/voila/render/00_overview.ipynb")
    assert "/login" in page.url
    assert page.locator(".cc-nav").count() == 0 and "Balance" not in page.content()
    stranger.close()

    def status(path: str) -> int:
        request = urllib.request.Request(f"{server.base}{path}", headers={"Authorization": f"token {TEST_TOKEN}"})
        try:
            return urllib.request.urlopen(request, timeout=30).status
        except urllib.error.HTTPError as error:
            return error.code

    assert status("/voila/render/analyst.ipynb") == 404
    assert status("/voila/api/contents") == 404
    assert status("/voila/files/analyst.ipynb") in (403, 404)
    admin = browser.new_context(extra_http_headers={"Authorization": f"token {TEST_TOKEN}"})
    page = admin.new_page()
    page.goto(f"{server.base}/", wait_until="commit")  # no listing: the Overview
    assert page.url.endswith("/voila/render/00_overview.ipynb")
    # a first visit gets the time-zone page (server.ZONE_FIRST), which reloads itself: the next goto must not
    # race that reload (it was interrupted by it)
    page.wait_for_function("() => !document.body || !document.body.innerText.startsWith('Opening the dashboard')")
    page.goto(f"{server.base}/voila/tree", wait_until="commit")
    assert page.url.endswith("/voila/render/00_overview.ipynb")
    # the printed URL (token in the query) logs the browser in: later pages need no token
    fresh = browser.new_context()
    page = fresh.new_page()
    page.goto(server.url("02_funding.ipynb"), wait_until="commit")
    page.locator(".cc-amount input").wait_for(state="visible", timeout=LOAD)
    page.goto(f"{server.base}/voila/render/04_usage.ipynb", wait_until="commit")
    page.get_by_role("button", name="Import").wait_for(state="visible", timeout=LOAD)
    for context in (admin, fresh):
        context.close()
    log = server.log_path.read_text()  # what an admin reads in the terminal: the real URL, nothing alarming
    assert "The dashboard is ready: http://127.0.0.1:" in log and "?token=..." not in log
    assert "is not trusted" not in log and "without encryption" not in log


def test_keyboard_enter_reviews_focus_moves_to_the_match_box_and_a_deliberate_confirm_records(page, server, artifacts):
    ledger = cc.open_ledger(server.db)
    balance_before = ledger.balance()
    open_page(page, server, "02_funding.ipynb")
    number = page.locator(".cc-microsoft-number input")
    number.fill("MS-KEYBOARD-1")
    number.press("Tab")
    amount = page.locator(".cc-amount input")
    amount.fill("55.00")
    amount.press("Enter")  # Enter in a field submits the step
    checked = page.locator(".cc-review-checked input")
    expect(checked).to_be_visible(timeout=KERNEL)
    expect(checked).to_be_focused(timeout=KERNEL)  # the review first: Enter does not tick a checkbox
    assert serious_accessibility_problems(page) == []  # the green Record button too
    page.set_viewport_size({"width": 390, "height": 900})
    settle(page, quiet=200)
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    review = page.locator(".cc-review table.cc-table")  # the amount, auto-recharge terms and address: whole
    assert review.evaluate(CUT_CELLS) == [], "the order review is cut off at 390 px"
    for words in ("$55.00", "recharge $300.00 when the balance falls below $100.00", "Billing details"):
        expect(review).to_contain_text(words)
    screenshot(page, artifacts / "pages" / "02_funding-review-390.png")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record this purchase")).to_be_focused(timeout=KERNEL)
    page.keyboard.press("Enter")
    expect(page.locator(".cc-status .cc-success")).to_contain_text("Purchase recorded", timeout=KERNEL)
    expect(number).to_be_focused(timeout=KERNEL)  # ready for the next purchase
    assert ledger.balance() == balance_before + Decimal("55.00")


def test_step3_bulk_plan_puts_apply_before_the_list_and_focuses_it(page, server, artifacts):
    open_page(page, server, "03_credit_licenses.ipynb")
    page.get_by_role("button", name="Plan changes").click()
    apply = page.get_by_role("button", name="Record as done")  # Microsoft 365 is not connected here
    expect(apply).to_be_focused(timeout=KERNEL)
    table, summary = page.locator(".cc-plan-table"), page.locator(".cc-plan-summary")
    assert table.bounding_box()["height"] < 600  # the full list scrolls in its own box
    assert apply.bounding_box()["y"] - summary.bounding_box()["y"] < 800  # Apply within a screen of the summary
    assert page.locator(".cc-download-csv").is_visible()  # and downloads whole
    screenshot(page, artifacts / "pages" / "03_credit_licenses-plan-1440.png")


def test_overview_reads_the_ledger_again_when_shown_and_times_are_the_admins(browser, server, artifacts):
    context = browser.new_context(
        extra_http_headers={"Authorization": f"token {TEST_TOKEN}"},
        timezone_id="America/Los_Angeles",
        viewport={"width": 1024, "height": 900},
    )
    page = context.new_page()
    open_page(page, server, "00_overview.ipynb")  # the very first page of a new browser: local times already
    balance = page.locator(".cc-card.cc-balance")
    balance.wait_for(state="visible", timeout=LOAD)
    expect(balance.locator(".cc-note")).to_contain_text(re.compile(r"as of \w{3} \d+, \d{4}, .* P[SD]T"))
    entry_time = page.locator(".cc-entries time").first
    assert entry_time.get_attribute("title").endswith(" UTC")  # UTC on hover
    # another tab settles or buys: coming back to this tab shows the new balance
    ledger = cc.open_ledger(server.db)
    ledger.add_funds("40.00", at=datetime.now(UTC), order_id="PO-refresh-on-focus")
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    expect(balance).to_have_attribute("data-amount", str(ledger.balance()), timeout=KERNEL)
    links = page.locator(".cc-readiness a")
    expect(links.first).to_have_attribute("href", "01_licenses.ipynb")
    open_page(page, server, "04_usage.ipynb")  # the same zone on every page
    expect(page.locator(".cc-attention-calls time").first).to_contain_text(re.compile(r" P[SD]T$"), timeout=KERNEL)
    context.close()


EMPTY_PAGES = {  # what a new admin can use first on each page, before anything is recorded
    "00_overview.ipynb": ".cc-card.cc-balance",
    "02_funding.ipynb": ".cc-amount input",
    "04_usage.ipynb": ".cc-import",
}


# A table holding only "Nothing yet." whose header row runs past its box (headers cut off on a phone)
EMPTY_TABLES_SCROLLING = """() => [...document.querySelectorAll('#rendered_cells table.cc-table')]
  .filter(t => t.querySelector('td.cc-empty') && t.offsetWidth > 0 && t.scrollWidth > t.clientWidth + 1)
  .map(t => t.className)"""


@pytest.mark.parametrize("name", list(EMPTY_PAGES))
def test_an_empty_ledger_reads_plainly_at_every_width(page, dashboard_server, name, artifacts):
    """A new admin's ledger, first with no file at all (the Overview asks the setup's four questions, the
    other pages send the admin there), then set up with nothing recorded: each fits a phone and passes axe."""
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    db = dashboard_server.serve(None)
    first = ".cc-setup-intro" if name == "00_overview.ipynb" else ".cc-setup-first"
    for state, ready in (("no-file", first), ("set-up", EMPTY_PAGES[name])):
        if state == "set-up":
            record_setup(
                cc.open_ledger(db), organisation="Fabrikam", currency="EUR", agreement="MOSA", time_zone="Europe/Berlin"
            )
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(dashboard_server.url(name, token=False), wait_until="commit")
        page.locator("#loading").wait_for(state="detached", timeout=LOAD)
        page.locator(ready).first.wait_for(state="visible", timeout=LOAD)
        settle(page)
        for width in (1440, 390):
            page.set_viewport_size({"width": width, "height": 900})
            settle(page, quiet=200)
            where = f"{name} ({state}) at {width} px"
            assert page.evaluate(LAYOUT_PROBLEMS) == [], where
            screenshot(page, folder / f"empty-{state}-{name.removesuffix('.ipynb')}-{width}.png")
            assert serious_accessibility_problems(page) == [], where
            assert page.evaluate(SMALL_TARGETS) == [], f"tap targets under 24 px: {where}"
            assert page.evaluate(EMPTY_TABLES_SCROLLING) == [], f"an empty table scrolls sideways: {where}"
        words = page.locator("#rendered_cells").inner_text().split()
        assert "Traceback" not in words and "nan" not in words and "None" not in words and "NaT" not in words
