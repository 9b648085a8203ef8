-- Licensing: the tenant's users, licenses and seats (a snapshot replaced by each import), the SKU catalog,
-- and append-only history: every import, every license change and every applied plan.

-- catalog_sku: every Microsoft product (skuId = GUID); reference data refreshed from the package on import.
CREATE TABLE IF NOT EXISTS catalog_sku (
    sku_id           VARCHAR NOT NULL,
    sku_part_number  VARCHAR NOT NULL,
    product_name     VARCHAR NOT NULL
);

-- catalog_sku_plan: the telephony service plans inside each product.
CREATE TABLE IF NOT EXISTS catalog_sku_plan (
    sku_id             VARCHAR NOT NULL,
    service_plan_id    VARCHAR NOT NULL,
    service_plan_name  VARCHAR NOT NULL
);

-- service_plan_capability: which capability a service plan (by Microsoft's plan name) grants.
CREATE TABLE IF NOT EXISTS service_plan_capability (
    service_plan_name  VARCHAR NOT NULL,
    capability         VARCHAR NOT NULL
);

-- tenant_import: one row per import of users (with their licenses), subscribed SKUs or phone numbers.
CREATE TABLE IF NOT EXISTS tenant_import (
    import_id    BIGINT NOT NULL,
    imported_at  TIMESTAMPTZ NOT NULL,
    kind         VARCHAR NOT NULL,       -- 'tenant' | 'phone_numbers'
    source       VARCHAR NOT NULL,
    user_count   BIGINT NOT NULL,
    sku_count    BIGINT NOT NULL
);

-- tenant_user: the current users (snapshot; replaced by an import, updated by an applied plan).
CREATE TABLE IF NOT EXISTS tenant_user (
    user_id              VARCHAR NOT NULL,   -- Graph object id (or the lowercased UPN for CSV imports)
    user_principal_name  VARCHAR NOT NULL,
    display_name         VARCHAR,
    department           VARCHAR,
    country              VARCHAR,
    usage_location       VARCHAR             -- ISO 3166 alpha-2; NULL when not set
);

-- user_license: the current license assignments (snapshot), with the service plans turned off.
CREATE TABLE IF NOT EXISTS user_license (
    user_id         VARCHAR NOT NULL,
    sku_id          VARCHAR NOT NULL,
    disabled_plans  VARCHAR[] NOT NULL
);

-- tenant_sku: the tenant's subscribed SKUs and seats (snapshot of Graph subscribedSkus).
CREATE TABLE IF NOT EXISTS tenant_sku (
    sku_id             VARCHAR NOT NULL,
    sku_part_number    VARCHAR NOT NULL,
    enabled_units      BIGINT NOT NULL,
    consumed_units     BIGINT NOT NULL,
    capability_status  VARCHAR,
    warning_units      BIGINT DEFAULT 0,     -- prepaidUnits.warning: expired, in the grace period
    suspended_units    BIGINT DEFAULT 0      -- prepaidUnits.suspended: cancelled, cannot be assigned
);
-- Ledgers made before seats in warning were kept get the columns too.
ALTER TABLE tenant_sku ADD COLUMN IF NOT EXISTS warning_units BIGINT DEFAULT 0;
ALTER TABLE tenant_sku ADD COLUMN IF NOT EXISTS suspended_units BIGINT DEFAULT 0;

-- tenant_sku_plan: service plans per subscribed SKU as the tenant reports them (wins over the catalog).
CREATE TABLE IF NOT EXISTS tenant_sku_plan (
    sku_id             VARCHAR NOT NULL,
    service_plan_id    VARCHAR NOT NULL,
    service_plan_name  VARCHAR NOT NULL
);

-- user_phone_number: the current phone number (E.164) per user (snapshot of the last phone number import).
CREATE TABLE IF NOT EXISTS user_phone_number (
    user_id       VARCHAR NOT NULL,
    phone_number  VARCHAR NOT NULL,
    is_toll_free  BOOLEAN DEFAULT false      -- the number plan of the country says toll-free (libphonenumber)
);
ALTER TABLE user_phone_number ADD COLUMN IF NOT EXISTS is_toll_free BOOLEAN DEFAULT false;

-- tenant_change: append-only history of who had what, when. Written by imports and by applied plans.
CREATE TABLE IF NOT EXISTS tenant_change (
    change_id            BIGINT NOT NULL,
    changed_at           TIMESTAMPTZ NOT NULL,
    import_id            BIGINT,             -- set when an import saw the change
    plan_id              BIGINT,             -- set when an applied plan made it
    user_id              VARCHAR NOT NULL,
    user_principal_name  VARCHAR NOT NULL,
    kind                 VARCHAR NOT NULL,   -- user_added | user_removed | license_added | license_removed |
                                             -- license_plans_changed | usage_location_set | phone_number_set
    sku_id               VARCHAR,
    old_value            VARCHAR,
    new_value            VARCHAR
);

-- license_plan: a plan of license changes, recorded when it is applied (append-only).
CREATE TABLE IF NOT EXISTS license_plan (
    plan_id         BIGINT NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    description     VARCHAR NOT NULL,
    tenant_version  BIGINT NOT NULL,         -- the snapshot version the plan was computed on
    change_count    BIGINT NOT NULL,
    problem_count   BIGINT NOT NULL
);

-- license_plan_item: one change of a plan: set a usage location, add or remove a license.
CREATE TABLE IF NOT EXISTS license_plan_item (
    plan_id              BIGINT NOT NULL,
    item_no              BIGINT NOT NULL,
    user_id              VARCHAR NOT NULL,
    user_principal_name  VARCHAR NOT NULL,
    action               VARCHAR NOT NULL,   -- set_usage_location | add_license | remove_license
    sku_id               VARCHAR,
    disabled_plans       VARCHAR[],
    usage_location       VARCHAR
);

-- license_plan_apply: when a plan was applied to the snapshot (append-only).
CREATE TABLE IF NOT EXISTS license_plan_apply (
    plan_id     BIGINT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL
);
