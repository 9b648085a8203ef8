-- Rollups: sums the dashboard reads, kept so pages stay quick on a ledger of millions of calls. Derived data,
-- appended by refresh_rollups() (before a page reads them, when entries were added since); every view that
-- reads them adds the entries after the mark live, so a stale rollup costs time, never correctness.

-- rollup_mark: the rollups cover entries with entry_id <= through_entry; the latest row holds.
CREATE TABLE IF NOT EXISTS rollup_mark (
    through_entry  BIGINT NOT NULL,
    refreshed_at   TIMESTAMPTZ NOT NULL
);

-- lot_rollup: per lot, what the entries up to the mark moved in it (one row per lot per refresh).
CREATE TABLE IF NOT EXISTS lot_rollup (
    through_entry  BIGINT NOT NULL,
    lot_id         BIGINT NOT NULL,
    amount         DECIMAL(38, 2) NOT NULL,  -- signed: the remainder's change
    spent          DECIMAL(38, 2) NOT NULL,
    forfeited      DECIMAL(38, 2) NOT NULL,
    expired        BOOLEAN NOT NULL
);

-- day_rollup: per UTC day, the balance's change and what was added, spent and forfeited.
CREATE TABLE IF NOT EXISTS day_rollup (
    through_entry  BIGINT NOT NULL,
    day            TIMESTAMPTZ NOT NULL,
    change         DECIMAL(38, 2) NOT NULL,
    spent          DECIMAL(38, 2),
    added          DECIMAL(38, 2),
    expired        DECIMAL(38, 2)
);

-- spend_rollup: credits spent per user, destination, call type, month, the tenant's number on the call and an
-- auto attendant's or call queue's number (dimension says which key is set).
CREATE TABLE IF NOT EXISTS spend_rollup (
    through_entry  BIGINT NOT NULL,
    dimension      VARCHAR NOT NULL,         -- 'user' | 'destination' | 'call_type' | 'month' | 'number' | 'resource_number'
    key            VARCHAR,                  -- user principal name, destination country, call type or phone number
    label          VARCHAR,                  -- the user's display name
    month          TIMESTAMPTZ,
    calls          BIGINT NOT NULL,
    seconds        BIGINT NOT NULL,
    amount         DECIMAL(38, 2) NOT NULL
)
