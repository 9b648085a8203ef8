-- Microsoft 365 (Graph) sync and apply: what each sync brought, which call-log windows are done (so an
-- interrupted sync resumes), and every plan applied in Microsoft 365 with who applied it and each user's outcome.
-- Append-only; no secrets are ever stored here.

-- m365_sync_run: one row per sync; finished_at/status are set by a second row-update-free insert (see below).
CREATE TABLE IF NOT EXISTS m365_sync_run (
    run_id         BIGINT NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,
    calls_from     TIMESTAMPTZ NOT NULL,    -- the call-log period this run covers
    calls_to       TIMESTAMPTZ NOT NULL,
    started_by     VARCHAR NOT NULL          -- 'app registration <client id>' or the signed-in admin
);

-- m365_sync_result: how a run ended (one row when it ends; a run without one was interrupted).
CREATE TABLE IF NOT EXISTS m365_sync_result (
    run_id          BIGINT NOT NULL,
    finished_at     TIMESTAMPTZ NOT NULL,
    status          VARCHAR NOT NULL,        -- 'ok' | 'failed'
    users           BIGINT,
    skus            BIGINT,
    license_changes BIGINT,
    calls_imported  BIGINT NOT NULL,
    calls_known     BIGINT NOT NULL,         -- already in the ledger (overlapping windows, a resumed run)
    calls_quarantined BIGINT NOT NULL,
    calls_settled   BIGINT NOT NULL,
    amount_settled  DECIMAL(18, 2) NOT NULL,
    waited_seconds  DOUBLE NOT NULL,         -- time spent waiting out throttling (Retry-After)
    message         VARCHAR NOT NULL
);

-- m365_sync_window: a getPstnCalls window (at most 90 days) whose every page was imported.
CREATE TABLE IF NOT EXISTS m365_sync_window (
    run_id        BIGINT NOT NULL,
    window_from   TIMESTAMPTZ NOT NULL,
    window_to     TIMESTAMPTZ NOT NULL,
    pages         BIGINT NOT NULL,
    rows          BIGINT NOT NULL,
    completed_at  TIMESTAMPTZ NOT NULL
);

-- m365_apply: a plan sent to Microsoft 365; plan_id is the license_plan that records what Graph applied
-- (NULL when nothing was applied, or when the workbook's copy of the tenant was out of date).
CREATE TABLE IF NOT EXISTS m365_apply (
    apply_id     BIGINT NOT NULL,
    applied_at   TIMESTAMPTZ NOT NULL,
    applied_by   VARCHAR NOT NULL,
    plan_id      BIGINT,
    description  VARCHAR NOT NULL,
    users_applied BIGINT NOT NULL,
    users_failed  BIGINT NOT NULL,
    waited_seconds DOUBLE NOT NULL
);

-- m365_apply_result: one row per user of an apply: applied, partly applied or failed, and Graph's answer in words.
CREATE TABLE IF NOT EXISTS m365_apply_result (
    apply_id             BIGINT NOT NULL,
    user_id              VARCHAR NOT NULL,
    user_principal_name  VARCHAR NOT NULL,
    status               VARCHAR NOT NULL,  -- 'applied' | 'partly_applied' | 'failed'
    message              VARCHAR NOT NULL,
    graph_status         BIGINT,
    graph_code           VARCHAR
);
