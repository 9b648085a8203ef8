-- PSTN usage: imported call log rows, quarantined rows, rating tables and each call's credit charge.
-- Imported rows are never edited; rating output (call_charge) is derived: rate_calls() adds what changed.

-- pstn_call: one row per Graph pstnCallLogRow `id` (= Teams admin center CSV `UsageId`); callId is not unique.
CREATE TABLE IF NOT EXISTS pstn_call (
    usage_id             VARCHAR NOT NULL,
    call_id              VARCHAR,
    user_id              VARCHAR,         -- NULL for ucap_* (auto attendant / call queue) and bot calls
    user_principal_name  VARCHAR,
    user_display_name    VARCHAR,
    start_at             TIMESTAMPTZ NOT NULL,
    end_at               TIMESTAMPTZ,
    duration_seconds     BIGINT,
    charge               DECIMAL(18, 6),  -- as reported (Graph may give more digits than the currency has)
    connection_charge    DECIMAL(18, 6),
    currency             VARCHAR,
    call_type            VARCHAR,
    callee_number        VARCHAR,
    caller_number        VARCHAR,
    destination_context  VARCHAR,         -- Domestic | International
    destination_name     VARCHAR,
    conference_id        VARCHAR,
    license_capability   VARCHAR,         -- MCOPSTNPP = paid from Communication Credits
    usage_country_code   VARCHAR,
    tenant_country_code  VARCHAR,
    source               VARCHAR NOT NULL, -- 'graph' | 'tac_csv' | 'tac_direct_routing' | 'rows'
    source_file          VARCHAR,
    imported_at          TIMESTAMPTZ NOT NULL
);
-- added later (ALTER keeps older ledger files readable): operator = 'Microsoft' or the Operator Connect carrier
-- who bills the call; inventory_type = Graph inventoryType = CSV 'Number Type' (the user's number type, e.g.
-- toll-free); call_duration_source = 'microsoft' | 'operator'.
ALTER TABLE pstn_call ADD COLUMN IF NOT EXISTS operator VARCHAR;
ALTER TABLE pstn_call ADD COLUMN IF NOT EXISTS inventory_type VARCHAR;
ALTER TABLE pstn_call ADD COLUMN IF NOT EXISTS call_duration_source VARCHAR;
-- id_key: row_id_key() of the row id, written with each row: an import finds the rows the ledger already holds by
-- this narrow column instead of hashing every id it holds (md5 would be stable by definition, and 25x slower), then
-- compares the ids of the few key matches. The top 32 bits of DuckDB's hash(): DuckDB stores them bit-packed in
-- half the bytes of a full hash, and the first read after opening a big ledger is that much shorter (10M calls:
-- 40 MB instead of 80 MB); a 30k-call day then matches ~70 other rows by key, which the id comparison drops.
ALTER TABLE pstn_call ADD COLUMN IF NOT EXISTS id_key UBIGINT;
CREATE OR REPLACE MACRO row_id_key(id) AS hash(id) >> 32;
-- id_key_probe: row_id_key() of fixed texts (a short one and a row-id-like one) when the keys were written. DuckDB
-- does not promise hash() stays the same across versions: an import that finds other probes (or the full 64-bit
-- keys of earlier versions) writes every key again.
-- row_id_key_probe(): the probe as this version's row_id_key() gives it. Versions from before 32-bit keys kept their
-- own probe as id_key_probe_now() and remade it on every open; they know neither of these two names.
CREATE TABLE IF NOT EXISTS id_key_probe (probe UBIGINT[] NOT NULL);
CREATE OR REPLACE MACRO row_id_key_probe() AS [row_id_key('a'), row_id_key('00000000-0000-4000-8000-000000000000')];
-- one-time fill of files written before the keys (history unchanged: derived from the row id)
UPDATE pstn_call SET id_key = row_id_key(usage_id) WHERE id_key IS NULL;
INSERT INTO id_key_probe SELECT row_id_key_probe() WHERE NOT EXISTS (SELECT 1 FROM id_key_probe);

-- pstn_call_quarantine: rows that could not be read, with why; re-importing the same row adds nothing.
CREATE TABLE IF NOT EXISTS pstn_call_quarantine (
    row_hash        VARCHAR NOT NULL,     -- md5 of the raw row text
    source_file     VARCHAR,
    row_number      BIGINT,
    raw             VARCHAR,
    reason          VARCHAR NOT NULL,
    quarantined_at  TIMESTAMPTZ NOT NULL
);

-- pstn_call_rereport: a row id Microsoft reported again with another charge, connection fee or currency (Microsoft
-- is silent on whether that happens). The first report stays in pstn_call; each different later one is listed
-- here once, for reconcile and the calls needing attention: nothing is changed silently.
CREATE TABLE IF NOT EXISTS pstn_call_rereport (
    usage_id                VARCHAR NOT NULL,
    charge                  DECIMAL(18, 6),
    connection_charge       DECIMAL(18, 6),
    currency                VARCHAR,
    kept_charge             DECIMAL(18, 6),   -- the first report's, which the ledger keeps
    kept_connection_charge  DECIMAL(18, 6),
    kept_currency           VARCHAR,
    source_file             VARCHAR,
    row_number              BIGINT,
    reported_at             TIMESTAMPTZ NOT NULL
);

-- rate_card: credits price per minute by destination country and number type (loaded from CSV).
CREATE TABLE IF NOT EXISTS rate_card (
    destination_country  VARCHAR NOT NULL,  -- ISO 3166 alpha-2
    number_type          VARCHAR NOT NULL,  -- 'fixed' | 'mobile' | 'toll_free' | '*' (any)
    currency             VARCHAR NOT NULL,
    price_per_minute     DECIMAL(18, 6) NOT NULL,
    connection_fee       DECIMAL(18, 6) NOT NULL
);

-- included_minutes: minutes per license per month, pooled per country (loaded from CSV).
CREATE TABLE IF NOT EXISTS included_minutes (
    license_capability   VARCHAR NOT NULL,  -- MCOPSTN1, MCOPSTN2, MCOPSTN5, MCOPSTN6, MCOMEETADD, ...
    usage_country        VARCHAR NOT NULL,  -- ISO alpha-2 of the user's location, '*' = any
    scope                VARCHAR NOT NULL,  -- 'domestic' | 'international' | 'any'
    minutes_per_license  BIGINT NOT NULL
);

-- license_count: licensed users per capability and country (from the tenant); when missing, rating counts the
-- distinct users seen in that month's calls (an approximation, see docs/usage.md).
CREATE TABLE IF NOT EXISTS license_count (
    license_capability  VARCHAR NOT NULL,
    usage_country       VARCHAR NOT NULL,
    licenses            BIGINT NOT NULL
);

-- phone_destination: destination country and number type of each callee number (filled with phonenumbers).
CREATE TABLE IF NOT EXISTS phone_destination (
    number               VARCHAR NOT NULL,
    destination_country  VARCHAR,
    number_type          VARCHAR
);

-- call_charge: the ESTIMATE of each call without a charge (kept up to date by rate_calls()). A call with Microsoft's
-- charge or another operator's is not stored here: view call_rating derives its rating from pstn_call and
-- callee_country (files rated before that, whose rating_mark.calls_rated is NULL, hold them here until rated
-- afresh). Settlement never reads it: it draws what Microsoft charged (view microsoft_charge).
CREATE TABLE IF NOT EXISTS call_charge (
    usage_id             VARCHAR NOT NULL,
    start_at             TIMESTAMPTZ NOT NULL,
    currency             VARCHAR,
    method               VARCHAR NOT NULL,  -- 'as_is' (Microsoft's charge) | 'operator' | estimates: 'rate_card' | 'included' | 'free' | 'unrated'
    destination_country  VARCHAR,
    billable_minutes     BIGINT,
    included_minutes     BIGINT,
    charge               DECIMAL(18, 2)     -- credits drawn; 0 when none, NULL when unrated
);

-- callee_country: the country of each callee number of the calls with a reported charge (NULL: none known),
-- written by rate_calls once per new number (phone_destination holds the numbers whose type was looked up).
CREATE TABLE IF NOT EXISTS callee_country (
    number               VARCHAR NOT NULL,
    destination_country  VARCHAR
);

-- rated_destination(rated, number_country, inventory_type, usage_country, tenant_country): where a call went, as
-- rating says: its estimate's country (`rated`, from call_charge) or, for a call with a reported charge, its
-- number's (callee_country); a call into a toll-free number no country is known for: the usage country.
CREATE OR REPLACE MACRO rated_destination(rated, number_country, inventory_type, usage_country, tenant_country) AS
    coalesce(rated, number_country,
             CASE WHEN regexp_matches(lower(inventory_type), 'toll[- ]?free') THEN coalesce(usage_country, tenant_country) END);

-- utc_month(t): the month of a TIMESTAMPTZ in UTC, as a TIMESTAMP (date_trunc on a TIMESTAMPTZ goes through ICU's
-- calendar, several times slower on the ~100k calls a rating estimates; the ledger's time zone is UTC anyway)
CREATE OR REPLACE MACRO utc_month(t) AS date_trunc('month', make_timestamp(epoch_us(t)));

-- rating_mark: one row, how far rating went (rate_calls rates only newer calls while estimates_current holds;
-- replacing the rate card, included minutes or license counts clears it, so every estimate is redone).
CREATE TABLE IF NOT EXISTS rating_mark (
    id                 INTEGER PRIMARY KEY,   -- always 1
    rated_through      TIMESTAMPTZ NOT NULL,  -- the newest imported_at of the calls rated
    currency           VARCHAR NOT NULL,      -- the currency estimates are priced in
    estimates_current  BOOLEAN NOT NULL
);
-- added later: a digest of the licenses and users that size the minute pools (a change redoes the estimates)
ALTER TABLE rating_mark ADD COLUMN IF NOT EXISTS pool_inputs VARCHAR;
-- added later: how many pstn_call rows were rated (pstn_call is append-only: rows past it are new whatever their
-- imported_at). NULL: rated when call_charge held a row per charged call; the next rating starts afresh.
ALTER TABLE rating_mark ADD COLUMN IF NOT EXISTS calls_rated BIGINT;

-- settle_mark: one row, how far settlement looked (a cache, like rating_mark: without it every imported call is
-- looked at again, which costs time, never money). A full settlement considered every call imported by then;
-- the next one reads the calls imported since (less an hour, for clock adjustments) and the blocked ones.
CREATE TABLE IF NOT EXISTS settle_mark (
    id               INTEGER PRIMARY KEY,   -- always 1
    settled_through  TIMESTAMPTZ NOT NULL   -- the newest imported_at of the calls a full settlement considered
);

-- call_status_tally: imported calls by what their row alone decides (view call_row_status; NULL: charged in the
-- ledger's currency), counted up to `through` (a cache, like settle_mark: a settlement's report counts only the
-- calls imported after it and adds these). Replaced whole when it moves on; without it every call is counted.
CREATE TABLE IF NOT EXISTS call_status_tally (
    through     TIMESTAMPTZ NOT NULL,  -- settle_mark less an hour when it was taken (as far as settlement reads)
    row_status  VARCHAR,
    calls       BIGINT NOT NULL
);

-- spend_outside_log: ids of calls the ledger recorded apart from the imported call log (Ledger.spend, settle(calls=))
-- at a time that need not be the imported call's. Settlement finds the calls already in the ledger among the
-- entries from the earliest call it settles on (a call's spend happens at its time or later); these ids are read
-- apart. Files written before it get every spend (and arrears row) without an imported call at or before its time.
CREATE TABLE IF NOT EXISTS spend_outside_log AS
SELECT usage_id FROM entry e
WHERE kind = 'spend' AND usage_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM pstn_call p WHERE p.usage_id = e.usage_id AND p.start_at <= e.occurred_at)
UNION
SELECT usage_id FROM usage_in_arrears u
WHERE NOT EXISTS (SELECT 1 FROM pstn_call p WHERE p.usage_id = u.usage_id AND p.start_at <= u.occurred_at);

-- blocked_call: calls a settlement could not pay (balance too low even after a recharge); they stay unsettled.
CREATE TABLE IF NOT EXISTS blocked_call (
    usage_id     VARCHAR NOT NULL,
    start_at     TIMESTAMPTZ NOT NULL,
    charge       DECIMAL(18, 2) NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
