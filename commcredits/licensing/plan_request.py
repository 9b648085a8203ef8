"""What a plan is asked for: which users (`Selection`) and which licenses (`Change`), and the checks a Change
must pass before it can be planned. Plain data; `plans` computes and records plans from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..countries import ISO_COUNTRIES
from ..errors import InvalidInput
from ..store import Store
from .catalog import (
    AUDIO_CONFERENCING_SKU,
    CALLING_PLANS,
    COMMUNICATION_CREDITS_SKU,
    DOMESTIC_CALLING_PLAN_SKU,
    TEAMS_PHONE_SKU,
    Capability,
    load_catalog,
)
from .tenant_read import GUID

CALLING_CHOICES = ("audio_conferencing", "calling_plan")


@dataclass(frozen=True)
class Selection:
    """Which users a plan is about. Filters combine (all must match); no filter means everyone."""

    upns: tuple[str, ...] | None = None
    department: str | None = None
    not_ready_only: bool = False
    include_resource_accounts: bool = True

    @classmethod
    def everyone(cls) -> Selection:
        return cls()

    @classmethod
    def not_ready(cls) -> Selection:
        return cls(not_ready_only=True)

    @classmethod
    def users(cls, upns: Iterable[str]) -> Selection:
        return cls(upns=tuple(upns))

    @classmethod
    def in_department(cls, department: str) -> Selection:
        return cls(department=department)

    def describe(self) -> str:
        parts = []
        if self.upns is not None:
            parts.append(f"{len(self.upns)} chosen users")
        if self.department:
            parts.append(f"department {self.department}")
        if self.not_ready_only:
            parts.append("users who cannot dial out")
        if not self.include_resource_accounts:
            parts.append("no resource accounts")
        return ", ".join(parts) or "everyone"


@dataclass(frozen=True)
class Change:
    """The licenses wanted for the selected users. Users who already have a capability are left alone.

    `calling_if_missing` gives users with no way to call either 'audio_conferencing' or 'calling_plan';
    `teams_phone_for_calling_plans` adds Teams Phone to users who hold a Calling Plan without it;
    `usage_location` is set for users who have none (licenses cannot be assigned without one).
    """

    audio_conferencing: bool = False
    teams_phone: bool = False
    calling_plan: bool = False
    communication_credits: bool = False
    calling_if_missing: str | None = None
    teams_phone_for_calling_plans: bool = False
    usage_location: str | None = None
    remove_skus: tuple[str, ...] = ()
    teams_phone_sku: str = TEAMS_PHONE_SKU
    calling_plan_sku: str = DOMESTIC_CALLING_PLAN_SKU
    audio_conferencing_sku: str = AUDIO_CONFERENCING_SKU
    communication_credits_sku: str = COMMUNICATION_CREDITS_SKU

    def describe(self) -> str:
        parts = [
            label
            for wanted, label in (
                (self.teams_phone or self.calling_plan, "Teams Phone"),
                (self.calling_plan, "a Calling Plan"),
                (self.audio_conferencing, "Audio Conferencing"),
                (self.calling_if_missing == "audio_conferencing", "Audio Conferencing where no way to call"),
                (self.calling_if_missing == "calling_plan", "Teams Phone and a Calling Plan where no way to call"),
                (self.teams_phone_for_calling_plans, "Teams Phone for Calling Plan users"),
                (self.communication_credits, "Communication Credits"),
            )
            if wanted
        ]
        text = "add " + ", ".join(parts) if parts else ""
        if self.remove_skus:
            text += ("; " if text else "") + f"remove {len(self.remove_skus)} license(s)"
        if self.usage_location:
            text += f"; usage location {self.usage_location} where missing"
        return text or "no change"


def add_communication_credits(usage_location: str | None = None) -> Change:
    return Change(communication_credits=True, usage_location=usage_location)


def add_teams_phone_and_calling_plan(
    calling_plan_sku: str = DOMESTIC_CALLING_PLAN_SKU, usage_location: str | None = None
) -> Change:
    return Change(teams_phone=True, calling_plan=True, calling_plan_sku=calling_plan_sku, usage_location=usage_location)


def add_audio_conferencing(usage_location: str | None = None) -> Change:
    return Change(audio_conferencing=True, usage_location=usage_location)


def make_ready(usage_location: str | None = None, calling: str = "audio_conferencing") -> Change:
    """Everything a user needs to dial out: a way to call, Teams Phone for Calling Plans, Communication Credits."""
    return Change(
        calling_if_missing=calling,
        teams_phone_for_calling_plans=True,
        communication_credits=True,
        usage_location=usage_location,
    )


def capabilities_of(sku_id: str, store_plans: dict[str, set[str]]) -> set[str]:
    """What a product grants: its capabilities in the catalog plus the tenant's own service plans."""
    product = load_catalog().product(sku_id)
    found = {c.value for c in product.capabilities()} if product else set()
    return found | store_plans.get(sku_id, set())


def validate_change(change: Change, store: Store | None = None) -> None:
    """Raise InvalidInput (naming the field) when a Change cannot be planned."""
    if change.usage_location is not None and change.usage_location.upper() not in ISO_COUNTRIES:
        raise InvalidInput(
            "usage_location",
            f"{change.usage_location!r} is not an ISO 3166 two-letter country code (for example US, GB, DE)",
        )
    if change.calling_if_missing not in (None, *CALLING_CHOICES):
        raise InvalidInput("calling_if_missing", "choose 'audio_conferencing' or 'calling_plan'")
    store_plans: dict[str, set[str]] = {}
    if store is not None:
        for sku_id, capability in store.query("SELECT sku_id, capability FROM sku_plan"):
            store_plans.setdefault(sku_id, set()).add(capability)
    calling_plans = {c.value for c in CALLING_PLANS}
    for name, grants in (
        ("teams_phone_sku", {Capability.TEAMS_PHONE.value}),
        ("calling_plan_sku", calling_plans),
        ("audio_conferencing_sku", {Capability.AUDIO_CONFERENCING.value}),
        ("communication_credits_sku", {Capability.COMMUNICATION_CREDITS.value}),
    ):
        sku_id = getattr(change, name)
        if not GUID.match(sku_id or ""):
            raise InvalidInput(name, f"{sku_id!r} is not a license GUID")
        if not capabilities_of(sku_id.lower(), store_plans) & grants:
            raise InvalidInput(name, f"license {sku_id} does not grant what {name.removesuffix('_sku')} needs")
    for sku_id in change.remove_skus:
        if not GUID.match(sku_id):
            raise InvalidInput("remove_skus", f"{sku_id!r} is not a license GUID")


def as_selection(selection) -> Selection:
    """`selection` as a Selection: a Selection, a list of sign-in names, 'everyone' or 'not_ready'."""
    if isinstance(selection, Selection):
        return selection
    if selection in ("everyone", None):
        return Selection.everyone()
    if selection in ("not_ready", "everyone not ready"):
        return Selection.not_ready()
    if isinstance(selection, str):
        raise InvalidInput("selection", "use a Selection, a list of sign-in names, 'everyone' or 'not_ready'")
    return Selection.users(selection)
