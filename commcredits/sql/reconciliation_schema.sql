-- reconciliation: each comparison of the ledger with the balance the admin read in the Microsoft 365 admin
-- center (cc.reconcile). Append-only; explanations are the plain sentences shown, one per line.
CREATE TABLE IF NOT EXISTS reconciliation (
    reconciliation_id  BIGINT NOT NULL,
    as_of              TIMESTAMPTZ NOT NULL,      -- when the admin read the balance
    shown              DECIMAL(18, 2) NOT NULL,   -- the balance Microsoft shows
    expected           DECIMAL(18, 2) NOT NULL,   -- the ledger's balance at as_of
    difference         DECIMAL(18, 2) NOT NULL,   -- shown - expected
    unexplained        DECIMAL(18, 2) NOT NULL,   -- what the explanations' amounts do not account for
    explanations       VARCHAR NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL
);
