-- billing_change: the billing details used for orders, append-only; the latest row applies to later orders.
-- Card payments keep only the brand and last four digits: never a full card number.
CREATE TABLE IF NOT EXISTS billing_change (
    version         BIGINT NOT NULL,
    changed_at      TIMESTAMPTZ NOT NULL,
    company         VARCHAR NOT NULL,
    address         VARCHAR NOT NULL,
    city            VARCHAR NOT NULL,
    postal_code     VARCHAR NOT NULL,
    country         VARCHAR NOT NULL,    -- ISO 3166-1 alpha-2
    tax_id          VARCHAR NOT NULL,    -- may be empty
    po_number       VARCHAR NOT NULL,    -- may be empty
    invoice_email   VARCHAR NOT NULL,
    payment_method  VARCHAR NOT NULL,    -- 'invoice' | 'card'
    card_brand      VARCHAR NOT NULL,    -- may be empty
    card_last4      VARCHAR NOT NULL     -- may be empty
);
