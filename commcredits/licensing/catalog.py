"""Microsoft license SKUs and the calling capabilities their service plans grant.

A capability comes from a *service plan*, never from a product name: a user gets Teams Phone from the MCOEV
product or from an E5 bundle alike, and loses it when the assignment lists the plan in `disabledPlans`.
The data ships with the package (commcredits/data/, built by scripts/extract_sku_catalog.py from Microsoft's
"Product names and service plan identifiers for licensing" file).
"""

from __future__ import annotations

import csv
import enum
import functools
import importlib.resources
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


class Capability(str, enum.Enum):
    """What a service plan lets a user do, in the words the Teams admin guide uses."""

    AUDIO_CONFERENCING = "audio_conferencing"
    TEAMS_PHONE = "teams_phone"
    DOMESTIC_CALLING_PLAN = "domestic_calling_plan"
    INTERNATIONAL_CALLING_PLAN = "international_calling_plan"
    PAY_AS_YOU_GO_CALLING_PLAN = "pay_as_you_go_calling_plan"
    COMMUNICATION_CREDITS = "communication_credits"
    RESOURCE_ACCOUNT = "resource_account"
    TEAMS = "teams"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Capability.AUDIO_CONFERENCING: "Audio Conferencing",
    Capability.TEAMS_PHONE: "Teams Phone",
    Capability.DOMESTIC_CALLING_PLAN: "Domestic Calling Plan",
    Capability.INTERNATIONAL_CALLING_PLAN: "Domestic and International Calling Plan",
    Capability.PAY_AS_YOU_GO_CALLING_PLAN: "Pay-As-You-Go Calling Plan",
    Capability.COMMUNICATION_CREDITS: "Communication Credits",
    Capability.RESOURCE_ACCOUNT: "Teams Phone Resource Account",
    Capability.TEAMS: "Microsoft Teams",
}

CALLING_PLANS = frozenset(
    {Capability.DOMESTIC_CALLING_PLAN, Capability.INTERNATIONAL_CALLING_PLAN, Capability.PAY_AS_YOU_GO_CALLING_PLAN}
)


def is_bundle(capabilities: Iterable[Capability | str]) -> bool:
    """Teams Phone and a Calling Plan in one product."""
    values = {Capability(c) for c in capabilities}
    return Capability.TEAMS_PHONE in values and bool(values & CALLING_PLANS)


# Service plan name (Microsoft's Service_Plan_Name) -> capability. Government and regional variants included.
# scripts/extract_sku_catalog.py refuses a reference file with a telephony-looking plan that is in neither this
# map nor NOT_CALLING_PLANS, so a new Microsoft product cannot slip by unclassified.
SERVICE_PLAN_CAPABILITIES: Mapping[str, Capability] = MappingProxyType(
    {
        "MCOMEETADV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_GOV": Capability.AUDIO_CONFERENCING,
        "MCOMEETADV_AR_GCCHigh": Capability.AUDIO_CONFERENCING,
        "MCOACBYOT_GCCHigh": Capability.AUDIO_CONFERENCING,  # Audio Conferencing, GCC High tenants
        "MCOMEETACPEA": Capability.AUDIO_CONFERENCING,  # pay-per-minute, drawn from credits
        "MCOMEETBASIC": Capability.AUDIO_CONFERENCING,  # dial-out to select geographies
        "MCOMEETBASIC_GOV": Capability.AUDIO_CONFERENCING,  # the same for GCC
        "MCOEV": Capability.TEAMS_PHONE,
        "MCOEV_GOV": Capability.TEAMS_PHONE,
        "MCOEVSMB": Capability.TEAMS_PHONE,
        "MCOFMC1": Capability.TEAMS_PHONE,  # Teams Phone Mobile
        "MCOEV_VIRTUALUSER": Capability.RESOURCE_ACCOUNT,
        "MCOEV_VIRTUALUSER_GOV": Capability.RESOURCE_ACCOUNT,
        "MCOPSTN1": Capability.DOMESTIC_CALLING_PLAN,
        "MCOPSTN5": Capability.DOMESTIC_CALLING_PLAN,
        "Skype for Business PSTN Calling Domestic Small": Capability.DOMESTIC_CALLING_PLAN,  # plan of MCOPSTN5 d43177b5
        "MCOPSTN6": Capability.DOMESTIC_CALLING_PLAN,
        "MCOPSTN8": Capability.DOMESTIC_CALLING_PLAN,
        "PSTN5_US": Capability.DOMESTIC_CALLING_PLAN,
        "MCOPSTNEAU": Capability.DOMESTIC_CALLING_PLAN,
        "MCOPSTN2": Capability.INTERNATIONAL_CALLING_PLAN,
        "MCOPSTN3": Capability.PAY_AS_YOU_GO_CALLING_PLAN,  # inside MCOPSTNPP "PSTN Usage Calling Plan": per minute
        "MCOPSTN_PAYG_1": Capability.PAY_AS_YOU_GO_CALLING_PLAN,
        "MCOPSTN_PAYG_2": Capability.PAY_AS_YOU_GO_CALLING_PLAN,
        "MCOPSTN_PAYG_3": Capability.PAY_AS_YOU_GO_CALLING_PLAN,
        "MCOPSTNC": Capability.COMMUNICATION_CREDITS,
        # Microsoft Teams itself: suites sold "(no Teams)" lack it, and without Teams nobody dials out from Teams.
        "TEAMS1": Capability.TEAMS,
        "TEAMS_GOV": Capability.TEAMS,
        "TEAMS_AR_DOD": Capability.TEAMS,
        "TEAMS_AR_GCCHIGH": Capability.TEAMS,
        "TeamsEss": Capability.TEAMS,  # Microsoft Teams Essentials
    }
)

# Plans whose names look like telephony but grant none of the capabilities above (Skype for Business Online
# plans, the free Teams, Teams Premium features, Copilot or avatars in Teams ...).
NOT_CALLING_PLANS = frozenset(
    {
        "MCOSTANDARD",
        "MCOSTANDARD_GOV",
        "MCOSTANDARD_MIDMARKET",
        "MCOIMP",
        "MCOIMP_GOV",
        "MCOLITE",
        "MCOBASIC",
        "MCOVOICECONF",
        "MCOFREE",
        "MCO_TEAMS_IW",
        "MCO_VIRTUAL_APPT",
        "TEAMS_FREE",
        "TEAMS_FREE_SERVICE",
        "TEAMS_DESKLESS",
        "TEAMSMULTIGEO",
        "TEAMSPRO_CUST",
        "TEAMSPRO_MGMT",
        "TEAMSPRO_PROTECTION",
        "TEAMSPRO_VIRTUALAPPT",
        "TEAMSPRO_WEBINAR",
        "M365_COPILOT_TEAMS",
        "MESH_AVATARS_FOR_TEAMS",
        "MESH_AVATARS_ADDITIONAL_FOR_TEAMS",
        "MESH_IMMERSIVE_FOR_TEAMS",
        "Teams_Room_Basic",
        "Teams_Room_Pro",
        "Teams_Room_Standard",
        "Teams_Rooms_Basic",
    }
)


def looks_like_telephony(service_plan_name: str) -> bool:
    """Names the extractor must see classified: Skype/Teams voice plans (MCO*), PSTN plans and Teams plans."""
    return (
        bool(re.match(r"^(MCO|PSTN|TEAMS)", service_plan_name, re.IGNORECASE))
        or "PSTN" in service_plan_name
        or "TEAMS" in service_plan_name.upper()
    )


# The standalone products an admin assigns to add one capability (skuId = Graph's GUID).
COMMUNICATION_CREDITS_SKU = "47794cd0-f0e5-45c5-9033-2eb6b5fc84e0"  # MCOPSTNC
AUDIO_CONFERENCING_SKU = "0c266dff-15dd-4b49-8397-2bb16070ed52"  # MCOMEETADV
TEAMS_PHONE_SKU = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"  # MCOEV
DOMESTIC_CALLING_PLAN_SKU = "0dab259f-bf13-4952-b7f8-7db8f131b28d"  # MCOPSTN1
INTERNATIONAL_CALLING_PLAN_SKU = "d3b4fe1f-9992-4930-8acb-ca6ec609365e"  # MCOPSTN2
PAY_AS_YOU_GO_CALLING_PLAN_SKU = "9b196e97-5830-4c2e-adc2-1e10ebf5dee5"  # zone 1 (US)
RESOURCE_ACCOUNT_SKU = "440eaaa8-b3e0-484b-a8be-62870b9ba70a"  # PHONESYSTEM_VIRTUALUSER
# One product that brings Teams Phone and a Domestic Calling Plan (MCOEV + MCOPSTN1 plans): one license, one seat.
TEAMS_PHONE_WITH_CALLING_PLAN_SKU = "ae2343d1-0999-43f6-ae18-d816516f6e78"  # MCOTEAMS_ESSENTIALS

# Seats of Communication Credits the first funding adds to a tenant (Microsoft adds "a large number").
FUNDED_COMMUNICATION_CREDITS_SEATS = 10_000

# Names admins know for the standalone telephony licenses (Microsoft's product names are longer).
FRIENDLY_SKU_NAMES = {
    COMMUNICATION_CREDITS_SKU: "Communication Credits",
    AUDIO_CONFERENCING_SKU: "Audio Conferencing",
    TEAMS_PHONE_SKU: "Teams Phone Standard",
    DOMESTIC_CALLING_PLAN_SKU: "Domestic Calling Plan",
    INTERNATIONAL_CALLING_PLAN_SKU: "Domestic and International Calling Plan",
    PAY_AS_YOU_GO_CALLING_PLAN_SKU: "Pay-As-You-Go Calling Plan",
    TEAMS_PHONE_WITH_CALLING_PLAN_SKU: "Teams Phone with Calling Plan",
    RESOURCE_ACCOUNT_SKU: "Microsoft Teams Phone Resource Account",
}


@dataclass(frozen=True)
class ServicePlan:
    service_plan_id: str
    service_plan_name: str

    @property
    def capability(self) -> Capability | None:
        return SERVICE_PLAN_CAPABILITIES.get(self.service_plan_name)


@dataclass(frozen=True)
class Product:
    """One license SKU: `sku_id` is Graph's skuId, `sku_part_number` its skuPartNumber."""

    sku_id: str
    sku_part_number: str
    product_name: str
    service_plans: tuple[ServicePlan, ...] = ()

    def capabilities(self, disabled_plans: Iterable[str] = ()) -> frozenset[Capability]:
        """Capabilities this product grants with the given service plan ids turned off."""
        off = {p.lower() for p in disabled_plans}
        return frozenset(
            p.capability for p in self.service_plans if p.capability is not None and p.service_plan_id not in off
        )

    @property
    def is_bundle(self) -> bool:
        """True for products that bring Teams Phone and a Calling Plan together (Teams Phone with Calling Plan,
        Business Voice): planned as one license and one seat, never as two."""
        return is_bundle(self.capabilities())


@dataclass(frozen=True)
class Catalog:
    """Every Microsoft product by skuId; telephony service plans for the products that have them."""

    products: Mapping[str, Product]

    def product(self, sku_id: str) -> Product | None:
        return self.products.get(sku_id.lower())

    def by_part_number(self, sku_part_number: str) -> Product | None:
        """The product with this skuPartNumber (the first by GUID where Microsoft reuses a name)."""
        wanted = sku_part_number.strip().lower()
        matches = sorted(p.sku_id for p in self.products.values() if p.sku_part_number.lower() == wanted)
        return self.products[matches[0]] if matches else None

    def capabilities(self, assigned: Iterable[tuple[str, Iterable[str]]]) -> frozenset[Capability]:
        """Capabilities of a user holding these (skuId, disabledPlans) assignments."""
        found: set[Capability] = set()
        for sku_id, disabled in assigned:
            product = self.product(sku_id)
            if product is not None:
                found |= product.capabilities(disabled)
        return frozenset(found)

    def plan_rows(self) -> list[tuple[str, str, str, str]]:
        """(sku_id, service_plan_id, service_plan_name, capability) for every telephony plan: the SQL side."""
        return sorted(
            (p.sku_id, sp.service_plan_id, sp.service_plan_name, sp.capability.value)
            for p in self.products.values()
            for sp in p.service_plans
            if sp.capability is not None
        )

    def sku_rows(self) -> list[tuple[str, str, str]]:
        return sorted((p.sku_id, p.sku_part_number, p.product_name) for p in self.products.values())


def _data_csv(name: str) -> list[dict[str, str]]:
    text = importlib.resources.files("commcredits.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The SKU catalog shipped with the package (no network, no files outside the package)."""
    products = {
        r["sku_id"]: Product(r["sku_id"], r["sku_part_number"], r["product_name"]) for r in _data_csv("skus.csv")
    }
    plans: dict[str, list[ServicePlan]] = {}
    for r in _data_csv("sku_service_plans.csv"):
        if r["service_plan_id"]:
            plans.setdefault(r["sku_id"], []).append(ServicePlan(r["service_plan_id"], r["service_plan_name"]))
    for sku_id, sku_plans in plans.items():
        p = products[sku_id]
        products[sku_id] = Product(p.sku_id, p.sku_part_number, p.product_name, tuple(sku_plans))
    return Catalog(MappingProxyType(products))


def license_name(sku_id: str | None, fallback: str | None = None) -> str:
    """The name an admin recognizes for a license: 'Teams Phone Standard' rather than MCOEV."""
    if not isinstance(sku_id, str) or not sku_id:
        return fallback if isinstance(fallback, str) and fallback else "license"
    if sku_id.lower() in FRIENDLY_SKU_NAMES:
        return FRIENDLY_SKU_NAMES[sku_id.lower()]
    product = load_catalog().product(sku_id)
    return product.product_name if product else (fallback or sku_id)
