"""Driving the Step 2 page in a real browser (shared by the browser tests)."""


def open_funding(page, base: str) -> None:
    page.goto(f"{base}/voila/render/02_funding.ipynb", wait_until="commit")
    page.locator(".cc-amount input").wait_for(state="visible", timeout=60_000)


def type_into(page, css_class: str, value: str) -> None:
    field = page.locator(f".{css_class} input")
    field.fill(value)
    field.press("Tab")  # ipywidgets Text syncs on blur/enter as well as on input


def fill_order(page, amount: str) -> None:
    """Type an amount and Contoso's billing details (the demo tenant has them; a fresh one does not)."""
    type_into(page, "cc-amount", amount)
    type_into(page, "cc-company", "Contoso Ltd")
    type_into(page, "cc-address", "1 Microsoft Way")
    type_into(page, "cc-city", "Redmond")
    type_into(page, "cc-postal-code", "98052")
    page.locator(".cc-country select").select_option(label="United States")
    type_into(page, "cc-invoice-email", "ap@contoso.com")


def review(page) -> None:
    page.get_by_role("button", name="Review order").click()
    page.locator(".cc-review").wait_for(state="visible", timeout=20_000)
