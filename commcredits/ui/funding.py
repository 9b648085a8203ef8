"""Step 2 form: add funds, billing details, auto-recharge, review, place order.

The form only collects text and shows results; validation and ordering are `commcredits.funding`.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..credits.billing import CARD_BRANDS, BillingDetails, Problem, current_billing
from ..countries import country_names
from ..errors import CommCreditsError
from ..credits.funding import OrderRequest, OrderReview, new_order_id, place_order, review_order
from ..credits.ledger import Agreement, Ledger
from . import format as fmt

LABEL_WIDTH = {"description_width": "190px"}
FIELD_WIDTH = "520px"
INPUT_OFFSET = "198px"  # where inputs start: the label column plus its gap


def _text(description: str, css: str, placeholder: str = "", value: str = "") -> widgets.Text:
    field = widgets.Text(description=description, placeholder=placeholder, value=value, style=LABEL_WIDTH,
                         layout=widgets.Layout(width=FIELD_WIDTH))
    field.add_class(css)
    return field


class FundingForm:
    """The Step 2 form. `widget` is what the notebook displays."""

    def __init__(self, ledger: Ledger, *, locale: str | None = None):
        self.ledger = ledger
        self.locale = locale or fmt.display_locale()
        self.review: OrderReview | None = None
        billing = current_billing(ledger.store) or BillingDetails()
        auto = ledger.auto_recharge
        money_hint = fmt.money(50, ledger.currency, self.locale)
        self.fields: dict[str, widgets.Widget] = {
            "amount": _text(f"Amount to add ({ledger.currency})", "cc-amount", f"e.g. {money_hint}"),
            "company": _text("Company name", "cc-company", value=billing.company),
            "address": _text("Address", "cc-address", value=billing.address),
            "city": _text("City", "cc-city", value=billing.city),
            "postal_code": _text("Postal code", "cc-postal-code", value=billing.postal_code),
            "country": widgets.Dropdown(
                description="Country", options=[("Choose…", "")] + [(name, code) for code, name in country_names().items()],
                value=billing.country or "", style=LABEL_WIDTH, layout=widgets.Layout(width=FIELD_WIDTH)),
            "tax_id": _text("Tax ID (optional)", "cc-tax-id", value=billing.tax_id),
            "po_number": _text("PO number (optional)", "cc-po-number", value=billing.po_number),
            "invoice_email": _text("Invoice e-mail", "cc-invoice-email", "ap@contoso.com", billing.invoice_email),
            "payment_method": widgets.ToggleButtons(
                options=[("Invoice", "invoice"), ("Card", "card")], value=billing.payment_method or "invoice",
                style={"button_width": "120px"}),
            "card_brand": widgets.Dropdown(description="Card brand", options=[("—", "")] + [(b, b) for b in CARD_BRANDS[1:]],
                                           value=billing.card_brand, style=LABEL_WIDTH,
                                           layout=widgets.Layout(width=FIELD_WIDTH)),
            "card_last4": _text("Card: last 4 digits", "cc-card-last4", "1234", billing.card_last4),
            "auto_recharge": widgets.Checkbox(description="Turn on auto-recharge", value=auto.enabled, indent=False,
                                              layout=widgets.Layout(margin=f"4px 0 4px {INPUT_OFFSET}")),
            "recharge_amount": _text("Add this amount", "cc-recharge-amount", "e.g. 500.00",
                                     "" if auto.amount is None else str(auto.amount)),
            "recharge_below": _text("When balance is below", "cc-recharge-below", "e.g. 100.00",
                                    "" if auto.below is None else str(auto.below)),
            # shown only when the review asks for it: an unusually large amount, or very frequent recharges
            "confirm": widgets.Checkbox(description="Yes, I mean these amounts", value=False, indent=False,
                                        layout=widgets.Layout(margin=f"4px 0 4px {INPUT_OFFSET}", display="none")),
        }
        self.fields["confirm"].add_class("cc-confirm")
        self.fields["country"].add_class("cc-country")
        self.fields["auto_recharge"].add_class("cc-auto-recharge")
        self.errors = {name: widgets.HTML(layout=widgets.Layout(margin=f"0 0 0 {INPUT_OFFSET}")) for name in self.fields}
        for name, error in self.errors.items():
            error.add_class(f"cc-error-{name.replace('_', '-')}")
        self.review_button = widgets.Button(description="Review order", button_style="primary", icon="check",
                                            layout=widgets.Layout(margin=f"12px 0 0 {INPUT_OFFSET}"))
        self.place_button = widgets.Button(description="Place order", button_style="success", icon="shopping-cart")
        self.edit_button = widgets.Button(description="Back to edit", icon="pencil")
        self.status = widgets.HTML()
        self.status.add_class("cc-status")
        self.summary = widgets.HTML()
        self.summary.add_class("cc-review")
        self.review_box = widgets.VBox([self.summary, widgets.HBox([self.place_button, self.edit_button])])
        self.review_box.layout.display = "none"
        self.review_button.on_click(self._on_review)
        fmt.submit_on_enter([f for f in self.fields.values() if isinstance(f, widgets.Text)], self.review_button)
        self.place_button.on_click(self._on_place)
        self.edit_button.on_click(self._on_edit)
        self.fields["payment_method"].observe(self._sync_visibility, names="value")
        self.fields["auto_recharge"].observe(self._sync_visibility, names="value")
        self.balance_line = widgets.HTML(self._balance_html())
        self.editor = widgets.VBox(self._layout())
        # status and review sit above the long editor so the outcome of a click is always in view
        self.widget = widgets.VBox([widgets.HTML(fmt.STYLE), self.status, self.review_box, self.editor])
        self._sync_visibility()

    # ---- layout ----

    def _row(self, name: str) -> widgets.VBox:
        field = self.fields[name]
        if name == "payment_method":  # toggle buttons have no label column of their own
            label = widgets.HTML('<div style="text-align:right">Pay by</div>',
                                 layout=widgets.Layout(width=LABEL_WIDTH["description_width"], margin="0 8px 0 0"))
            field = widgets.HBox([label, field], layout=widgets.Layout(align_items="center"))
        return widgets.VBox([field, self.errors[name]])

    def _layout(self) -> list[widgets.Widget]:
        mca = self.ledger.agreement is Agreement.MCA
        parts = []
        if mca:
            parts.append(widgets.HTML(
                '<div class="cc-card cc-mca-notice"><b>Microsoft Customer Agreement (MCA):</b> this tenant buys no '
                "Communication Credits and must keep auto-recharge off; calls are billed in arrears. You can still "
                "keep billing details current.</div>"))
            self.fields["amount"].disabled = True
            self.fields["auto_recharge"].disabled = True
        parts += [
            widgets.HTML('<h3 class="cc-section">1. Add funds</h3>'),
            self.balance_line,
            self._row("amount"),
            widgets.HTML('<h3 class="cc-section">2. Billing details</h3>'
                         "<div>Changes apply to this and later orders, never to past invoices. "
                         "Only the last four card digits are kept.</div>"),
            *(self._row(n) for n in ("company", "address", "city", "postal_code", "country", "tax_id", "po_number",
                                     "invoice_email", "payment_method", "card_brand", "card_last4")),
            widgets.HTML('<h3 class="cc-section">3. Auto-recharge</h3>'
                         "<div>Keeps calls working: when the balance falls below the trigger, the amount is added "
                         "and invoiced.</div>"),
            *(self._row(n) for n in ("auto_recharge", "recharge_amount", "recharge_below")),
            self._row("confirm"),
            self.review_button,
        ]
        return parts

    def _balance_html(self) -> str:
        balance = fmt.money(self.ledger.balance(), self.ledger.currency, self.locale)
        return (f'<div>Current balance: <b class="cc-current-balance">{html.escape(balance)}</b>. Each purchase '
                "expires 12 months after it is bought; the oldest is spent first.</div>")

    def _sync_visibility(self, _change=None) -> None:
        card = self.fields["payment_method"].value == "card"
        for name in ("card_brand", "card_last4"):
            self.fields[name].layout.display = None if card else "none"
        auto = self.fields["auto_recharge"].value
        for name in ("recharge_amount", "recharge_below"):
            self.fields[name].layout.display = None if auto else "none"

    # ---- state ----

    def request(self) -> OrderRequest:
        """What the form holds now."""
        f = {name: field.value for name, field in self.fields.items()}
        billing = BillingDetails(**{k: f[k] for k in BillingDetails.__dataclass_fields__})
        return OrderRequest(f["amount"], billing, f["auto_recharge"], f["recharge_amount"], f["recharge_below"],
                            confirmed=f["confirm"])

    def show_problems(self, problems: list[Problem]) -> None:
        if any(p.field == "confirm" for p in problems):
            self.fields["confirm"].layout.display = None
        for name, error in self.errors.items():
            messages = [p.message for p in problems if p.field == name]
            error.value = "".join(fmt.error_html(m) for m in messages)
        if problems:
            self.status.value = (f'<div class="cc-error">Please fix {len(problems)} '
                                 f'problem{"s" if len(problems) > 1 else ""} below.</div>')

    # ---- handlers ----

    def _on_review(self, _button) -> None:
        review, problems = review_order(self.ledger, self.request(), order_id=new_order_id(), locale=self.locale)
        self.show_problems(problems)
        if review is None:
            return
        self.review = review
        self.summary.value = self._summary_html(review)
        self.status.value = ""
        self.place_button.disabled = False
        self.editor.layout.display = "none"
        self.review_box.layout.display = None
        self.place_button.focus()  # the next action, for keyboard and screen-reader users

    def _on_edit(self, _button) -> None:
        self.review = None
        self.review_box.layout.display = "none"
        self.editor.layout.display = None
        self.fields["amount"].focus()

    def _on_place(self, _button) -> None:
        review = self.review
        if review is None:
            return
        self.place_button.disabled = True  # a second click replays the same order id anyway
        try:
            placed = place_order(self.ledger, review)
        except (CommCreditsError, ValueError) as error:
            self.place_button.disabled = False
            self.status.value = fmt.error_html(str(error))
            return
        if placed.lot is not None:
            message = (f"Order placed: {fmt.money(placed.lot.amount, review.currency, self.locale)} added, "
                       f"invoice {placed.invoice_id} (order {placed.lot.order_id}), "
                       f"expires {fmt.day(placed.lot.expires_at, self.locale)}.")
        else:
            message = "Settings saved."
        self.balance_line.value = self._balance_html()
        self.status.value = f'<div class="cc-success">{html.escape(message)}</div>'

        self.fields["amount"].value = ""
        self.review = None
        self.review_box.layout.display = "none"
        self.editor.layout.display = None
        self.fields["amount"].focus()  # ready for the next order

    def _summary_html(self, review: OrderReview) -> str:
        m = lambda amount: html.escape(fmt.money(amount, review.currency, self.locale))  # noqa: E731
        b = review.billing
        rows = []
        if review.amount is not None:
            rows.append(("Add funds", f"{m(review.amount)} (expires about {html.escape(fmt.day(review.expires_at, self.locale))})"))
        else:
            rows.append(("Add funds", "nothing now"))
        rows.append(("Auto-recharge", f"add {m(review.auto_recharge.amount)} when the balance is below "
                                      f"{m(review.auto_recharge.below)}" if review.auto_recharge.enabled else "off"))
        rows.append(("Bill to", html.escape(f"{b.company}, {b.address}, {b.postal_code} {b.city}, {b.country}")))
        rows.append(("Invoices to", html.escape(b.invoice_email)))
        pay = f"card {b.card_brand} ending {b.card_last4}" if b.payment_method == "card" else "invoice"
        rows.append(("Pay by", html.escape(pay)))
        if b.po_number:
            rows.append(("PO number", html.escape(b.po_number)))
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f'<h3 class="cc-section">Review your order</h3><table class="cc-table">{body}</table>'


def build_funding_form(ledger: Ledger, *, locale: str | None = None) -> FundingForm:
    """The Step 2 form for `ledger`."""
    return FundingForm(ledger, locale=locale)
