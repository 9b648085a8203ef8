"""commcredits: Microsoft Teams Communication Credits admin workbook (licenses, funding, ledger, usage).

Open a ledger with `open_ledger`; every other function takes that Ledger first (`cc.readiness_summary(ledger)`).
Errors are named in `commcredits.errors` and exported here; forms and checks report `Problem`s (field, message,
and for a file the record and whose it is).
"""

from .alerts.notify import current_alerts, run_check
from .analyst import connect_readonly, export_query, snapshot
from .config import database_path
from .credits.billing import BillingDetails, current_billing, save_billing
from .credits.funding import OrderRequest, PurchaseRequest, place_order, record_purchase, review_order, review_purchase
from .credits.ledger import Agreement, Allocation, AutoRecharge, Ledger, Lot, open_ledger
from .credits.reconciliation import reconcile, reconciliations
from .credits.settlement import settle
from .errors import (
    CheckAlreadyRunning,
    CommCreditsError,
    DeliveryError,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidAmount,
    InvalidDetails,
    InvalidInput,
    InvalidTime,
    LedgerBusy,
    M365Error,
    NotAllowedForAgreement,
    NotConnected,
    PermissionMissing,
    Problem,
    SeatsExhausted,
    SecretStoreUnavailable,
    StalePlan,
    TenantImportError,
    UnreadableFile,
)
from .licensing.catalog import Capability, load_catalog
from .licensing.exports import export_csv, export_graph_batches, export_powershell
from .licensing.plans import (
    Change,
    Plan,
    Selection,
    add_audio_conferencing,
    add_communication_credits,
    add_teams_phone_and_calling_plan,
    apply_plan,
    make_ready,
    plan_license_changes,
    record_plan_done,
)
from .licensing.readiness import license_seats, readiness, readiness_summary, toll_free_resource_accounts
from .licensing.tenant import (
    import_graph_tenant,
    import_phone_numbers,
    import_phone_numbers_csv,
    import_users_csv,
    is_toll_free,
)
from .m365.apply import apply_plan_m365
from .m365.connection import connect_m365
from .m365.sync import sync_m365
from .money import format_money
from .usage.call_import import import_pstn_calls, quarantined_rows
from .usage.charges import call_charges
from .usage.insights import balance_over_time, expiring_funds, invoices_by_month, runway, spend_by, what_if
from .usage.rate_and_settle import rate_and_settle
from .usage.rating import load_included_minutes, load_rate_card, rate_calls

__all__ = [
    # ledger
    "Agreement",
    "Allocation",
    "AutoRecharge",
    "Ledger",
    "Lot",
    "open_ledger",
    "database_path",
    "format_money",
    # errors
    "CommCreditsError",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidInput",
    "InvalidTime",
    "LedgerBusy",
    "NotAllowedForAgreement",
    "SeatsExhausted",
    "StalePlan",
    "TenantImportError",
    "SecretStoreUnavailable",
    "CheckAlreadyRunning",
    "DeliveryError",
    "UnreadableFile",
    # Step 1 and 3: licenses
    "Capability",
    "load_catalog",
    "import_graph_tenant",
    "import_users_csv",
    "import_phone_numbers",
    "import_phone_numbers_csv",
    "readiness",
    "readiness_summary",
    "Selection",
    "Change",
    "Plan",
    "plan_license_changes",
    "record_plan_done",
    "apply_plan",
    "make_ready",
    "add_communication_credits",
    "add_audio_conferencing",
    "add_teams_phone_and_calling_plan",
    "export_graph_batches",
    "export_powershell",
    "export_csv",
    "license_seats",
    "toll_free_resource_accounts",
    "is_toll_free",
    # Step 2: funding
    "BillingDetails",
    "current_billing",
    "save_billing",
    "PurchaseRequest",
    "review_purchase",
    "record_purchase",
    "OrderRequest",
    "review_order",
    "place_order",  # deprecated names, for one release
    # usage
    "import_pstn_calls",
    "quarantined_rows",
    "load_rate_card",
    "load_included_minutes",
    "rate_calls",
    "settle",
    "rate_and_settle",
    "spend_by",
    "balance_over_time",
    "invoices_by_month",
    "runway",
    "expiring_funds",
    "what_if",
    "call_charges",
    "reconcile",
    "reconciliations",
    # alerts
    "current_alerts",
    "run_check",
    # Microsoft 365 (Graph)
    "connect_m365",
    "sync_m365",
    "apply_plan_m365",
    "M365Error",
    "NotConnected",
    "PermissionMissing",
    # analysts
    "snapshot",
    "connect_readonly",
    "export_query",
    # reliability: form errors naming several fields, each a Problem
    "InvalidDetails",
    "Problem",
]
