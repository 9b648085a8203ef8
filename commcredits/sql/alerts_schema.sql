-- Alerts: the admin's thresholds and recipients, each run of the checks, and every message sent (or not).
-- Append-only like the ledger. Secrets (SMTP password, Teams webhook URL) are never stored here: they live
-- in environment variables or the OS keyring (see commcredits/alerts/settings.py).

-- alert_setting: thresholds, recipients and SMTP server; the latest version holds.
CREATE TABLE IF NOT EXISTS alert_setting (
    version                  BIGINT NOT NULL,
    changed_at               TIMESTAMPTZ NOT NULL,
    runway_days              INTEGER NOT NULL,
    low_balance              DECIMAL(18, 2),          -- NULL: no low-balance alert
    max_recharges_per_day    INTEGER NOT NULL,
    monthly_recharge_budget  DECIMAL(18, 2),          -- NULL: no budget
    stale_import_days        INTEGER NOT NULL,
    email_to                 VARCHAR[] NOT NULL,      -- empty: no e-mail
    email_from               VARCHAR NOT NULL,
    smtp_host                VARCHAR NOT NULL,
    smtp_port                INTEGER NOT NULL,
    smtp_username            VARCHAR NOT NULL,
    teams_enabled            BOOLEAN NOT NULL,        -- post to the Teams webhook kept as a secret
    dashboard_url            VARCHAR NOT NULL         -- where links in messages point
);

-- alert_run: each `commcredits check` that was not a dry run, with what the next run compares against.
CREATE TABLE IF NOT EXISTS alert_run (
    run_id      BIGINT NOT NULL,
    ran_at      TIMESTAMPTZ NOT NULL,
    not_ready   BIGINT NOT NULL,       -- users who could not dial out (readiness view)
    critical    INTEGER NOT NULL,
    warnings    INTEGER NOT NULL
);

-- alert_delivery: one row per alert per channel per attempt to deliver a message (sent or failed).
CREATE TABLE IF NOT EXISTS alert_delivery (
    delivery_id   BIGINT NOT NULL,
    message_id    VARCHAR NOT NULL,     -- one e-mail or Teams post carries several alerts
    run_id        BIGINT,               -- NULL for a test message
    attempted_at  TIMESTAMPTZ NOT NULL,
    day           DATE NOT NULL,        -- the UTC day the message counts for (one per check per day)
    channel       VARCHAR NOT NULL,     -- 'email' | 'teams'
    recipient     VARCHAR NOT NULL,     -- addresses, or the webhook host (never the secret URL)
    check_name    VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,     -- 'alert' | 'all_clear' | 'test'
    severity      VARCHAR NOT NULL,     -- 'info' | 'warning' | 'critical'
    level         BIGINT NOT NULL,
    sentence      VARCHAR NOT NULL,
    number        VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,     -- 'sent' | 'failed'
    attempts      INTEGER NOT NULL,
    error         VARCHAR               -- why it failed, for the admin
);
