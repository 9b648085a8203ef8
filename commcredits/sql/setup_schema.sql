-- The first-day setup: who the ledger is for. Append-only; the latest row holds.

-- tenant_setup: the organisation's name and time zone as the admin set them up (the agreement lives in
-- agreement_change, the currency in tenant). sample_data marks the demo tenant, which every page labels.
CREATE TABLE IF NOT EXISTS tenant_setup (
    change_id     BIGINT NOT NULL,
    changed_at    TIMESTAMPTZ NOT NULL,
    organisation  VARCHAR NOT NULL,
    time_zone     VARCHAR NOT NULL,      -- IANA name, e.g. Europe/Berlin
    sample_data   BOOLEAN NOT NULL
);

-- ledger_currency: the currency the ledger keeps. A ledger is created in USD; the setup may choose another
-- before anything priced is recorded, which appends a tenant row, so the latest row holds.
CREATE OR REPLACE VIEW ledger_currency AS
SELECT currency FROM tenant ORDER BY created_at DESC LIMIT 1;
