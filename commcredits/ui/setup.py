"""The first-day setup an empty ledger opens on (Overview): organisation, currency, how the tenant buys
Microsoft services, time zone. The rules live in `commcredits.tenant_setup`; this form only collects and shows."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from zoneinfo import available_timezones

import ipywidgets as widgets
from babel.numbers import get_currency_name, list_currencies

from ..credits.ledger import Ledger
from ..errors import CommCreditsError, InvalidInput
from ..tenant_setup import AGREEMENT_CHOICES, can_change_currency, record_setup
from . import format as fmt
from .kit import html_part, tagged

log = logging.getLogger(__name__)

LABEL = {"description_width": "230px"}
FIELD = widgets.Layout(width="min(640px, 100%)")
ERROR_MARGIN = "0 0 0 238px"
FIELDS = ("organisation", "currency", "agreement", "time_zone")
INTRO = (
    f'{fmt.STYLE}<div class="cc-page cc-setup-intro"><h2>Set up your ledger</h2>'
    "<p>This ledger is empty. Four answers, then bring in your users and licenses from files you "
    'download from the Microsoft 365 admin center (<a href="01_licenses.ipynb">Step 1 · Licenses</a>). '
    "Nothing here is sample data.</p>"
    '<p class="cc-hint">The currency is the one your Communication Credits are billed in; it is fixed '
    "once the first amount is recorded. How you buy decides Step 2: Microsoft Customer Agreement "
    "tenants buy no credits, and partners fund them for CSP tenants.</p></div>"
)


def currency_options(locale: str | None = None) -> list[tuple[str, str]]:
    """Every ISO currency babel knows, 'Euro (EUR)', by name."""
    names = ((get_currency_name(code, locale=locale or "en_US"), code) for code in list_currencies())
    return sorted(((f"{name} ({code})", code) for name, code in names), key=lambda option: option[0].lower())


def time_zone_options() -> list[str]:
    return sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")


class SetupForm:
    """Four questions, then `then(ledger)` builds the page the ledger now deserves."""

    def __init__(self, ledger: Ledger, then: Callable[[Ledger], widgets.Widget], *, locale: str | None = None):
        self.ledger = ledger
        self.then = then
        self.locale = locale or fmt.display_locale()
        self._questions()
        self.errors = {
            name: tagged(widgets.HTML(layout=widgets.Layout(margin=ERROR_MARGIN)), f"cc-error-{name.replace('_', '-')}")
            for name in FIELDS
        }
        self.save = tagged(
            widgets.Button(
                description="Save and start", button_style="primary", icon="check", layout=widgets.Layout(width="auto")
            ),
            "cc-setup-save",
        )
        self.status = html_part("cc-status")
        self.save.on_click(self._on_save)
        fmt.submit_on_enter([self.organisation], self.save)
        self.widget = tagged(
            widgets.VBox(
                [
                    widgets.HTML(INTRO),
                    *(part for name in FIELDS for part in (getattr(self, name), self.errors[name])),
                    widgets.HBox([self.save], layout=widgets.Layout(margin="10px 0 6px 0")),
                    self.status,
                ]
            ),
            "cc-setup",
        )

    def _questions(self) -> None:
        """The four fields, named as in FIELDS: organisation, currency, agreement, time zone."""
        ledger = self.ledger
        self.organisation = tagged(
            widgets.Text(description="Organisation name", placeholder="e.g. Fabrikam Ltd", style=LABEL, layout=FIELD),
            "cc-setup-organisation",
        )
        self.currency = tagged(
            widgets.Dropdown(
                description="Currency of your credits",
                options=currency_options(self.locale),
                value=ledger.currency,
                style=LABEL,
                layout=FIELD,
            ),
            "cc-setup-currency",
        )
        if not can_change_currency(ledger):
            self.currency.disabled = True
            self.currency.tooltip = f"Amounts are already recorded in {ledger.currency}"
        self.agreement = tagged(
            widgets.RadioButtons(
                description="How you buy Microsoft 365",
                options=[(text, a.value) for a, text in AGREEMENT_CHOICES.items()],
                value=ledger.agreement.value,
                style=LABEL,
                layout=widgets.Layout(width="auto"),
            ),
            "cc-setup-agreement",
        )
        zone = str(fmt.admin_timezone())
        zones = time_zone_options()
        self.time_zone = tagged(
            widgets.Dropdown(
                description="Time zone",
                options=zones,
                value=zone if zone in zones else "UTC",
                style=LABEL,
                layout=FIELD,
            ),
            "cc-setup-time-zone",
        )

    def _on_save(self, _button=None) -> None:
        for error in self.errors.values():
            error.value = ""
        self.status.value = ""
        try:
            ledger = record_setup(
                self.ledger,
                organisation=self.organisation.value,
                currency=self.currency.value,
                agreement=self.agreement.value,
                time_zone=self.time_zone.value,
            )
        except InvalidInput as error:
            target = self.errors.get(error.field)
            (target or self.status).value = fmt.error_html(error.message)
            return
        except CommCreditsError as error:
            self.status.value = fmt.error_html(str(error))
            return
        except Exception as error:  # noqa: BLE001 - the page must explain, never crash
            log.exception("setup failed")
            self.status.value = fmt.error_html(
                f"Something went wrong ({type(error).__name__}). Nothing was saved; reload the page and try again."
            )
            return
        self.ledger = ledger
        fmt.use_tenant_timezone(self.time_zone.value)
        saved = widgets.HTML(
            f'<div class="cc-success cc-setup-saved">Saved: {html.escape(self.organisation.value.strip())}'
            f", {html.escape(ledger.currency)}. Next: bring in your users and licenses in "
            '<a href="01_licenses.ipynb">Step 1 · Licenses</a>.</div>'
        )
        self.widget.children = [saved, self.then(ledger)]
