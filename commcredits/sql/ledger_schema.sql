-- The credit ledger. Tables are append-only: nothing here is ever updated or deleted.
-- Money is DECIMAL(18, 2) in the tenant's single currency; times are TIMESTAMPTZ (stored as UTC).

-- tenant: one row, written when the ledger is created.
CREATE TABLE IF NOT EXISTS tenant (
    currency    VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- agreement_change: the tenant's agreement type over time (MOSA, EA, CSP, MCA); the latest row holds.
CREATE TABLE IF NOT EXISTS agreement_change (
    change_id   BIGINT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    agreement   VARCHAR NOT NULL
);

-- auto_recharge_change: "Add this amount" when "balance is below" a trigger; the latest row holds.
CREATE TABLE IF NOT EXISTS auto_recharge_change (
    change_id   BIGINT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    enabled     BOOLEAN NOT NULL,
    amount      DECIMAL(18, 2),
    below       DECIMAL(18, 2)
);

-- lot: one purchase of credit (a manual order or an auto-recharge). lot_id follows purchase order.
CREATE TABLE IF NOT EXISTS lot (
    lot_id        BIGINT NOT NULL,
    purchased_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    amount        DECIMAL(18, 2) NOT NULL,
    source        VARCHAR NOT NULL,      -- 'order' | 'auto_recharge'
    order_id      VARCHAR NOT NULL       -- the purchase's idempotency key
);

-- entry (a view, below): the journal. amount is the signed change of the balance; each entry has a natural key,
-- unique by rule: idempotency_key 'order:<order_id>', 'recharge:<trigger key>', 'expiry:<lot_id>',
-- 'adjust:<entry_id>'; a spend's key is its call's usage_id (column usage_id; idempotency_key NULL, so a million
-- spends do not write each id twice; files written before hold 'usage:<usage_id>' there, and views show that for
-- every spend). Its rows live in two tables: spend_entry holds the spends a settlement writes (five columns: a wide
-- row costs DuckDB a column's work per row, NULL or not, and settlement writes a spend per call), entry_row every
-- other entry (purchases, recharges, expiries, adjustments, late and one-off spends). Files written before the split
-- hold every entry in entry_row (Store.ensure_schema renames their table `entry`).
CREATE TABLE IF NOT EXISTS entry_row (
    entry_id         BIGINT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    kind             VARCHAR NOT NULL,   -- 'purchase' | 'recharge' | 'spend' | 'expiry'
    amount           DECIMAL(18, 2) NOT NULL,
    idempotency_key  VARCHAR NOT NULL,
    lot_id           BIGINT,             -- the lot a purchase, recharge or expiry is about
    recorded_at      TIMESTAMPTZ NOT NULL
);

-- added later (ALTER keeps older ledger files readable): a spend names its call (usage_id) and the call's own
-- time (call_at; occurred_at is when the ledger takes it, the same since late calls settle at their own time).
-- adjusts: an adjusting entry (a late call changed what was recorded) names the key of the entry it corrects;
-- it has that entry's kind, occurred_at, lot and call, and the difference as its amount and allocations.
ALTER TABLE entry_row ADD COLUMN IF NOT EXISTS usage_id VARCHAR;
ALTER TABLE entry_row ADD COLUMN IF NOT EXISTS call_at TIMESTAMPTZ;
ALTER TABLE entry_row ADD COLUMN IF NOT EXISTS adjusts VARCHAR;
-- reported_late: a spend whose log arrived after the ledger had recorded later entries (settled at its own time)
ALTER TABLE entry_row ADD COLUMN IF NOT EXISTS reported_late BOOLEAN;
ALTER TABLE entry_row ALTER COLUMN idempotency_key DROP NOT NULL;
-- one-time fill of the new columns in files written before them (derived from the key; history unchanged)
UPDATE entry_row SET usage_id = substr(idempotency_key, 7), call_at = occurred_at
WHERE kind = 'spend' AND usage_id IS NULL AND adjusts IS NULL;

-- spend_entry: a settled call's spend, in time: kind 'spend', its call's time as call_at, no key, lot, adjustment or
-- late mark (a late call's spend is written to entry_row, which has them).
CREATE TABLE IF NOT EXISTS spend_entry (
    entry_id     BIGINT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    amount       DECIMAL(18, 2) NOT NULL,
    usage_id     VARCHAR NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);

CREATE OR REPLACE VIEW entry AS
SELECT entry_id, occurred_at, kind, amount, idempotency_key, lot_id, recorded_at, usage_id, call_at, adjusts,
       reported_late
FROM entry_row
UNION ALL
SELECT entry_id, occurred_at, 'spend', amount, NULL, NULL, recorded_at, usage_id, occurred_at, NULL, NULL
FROM spend_entry;

-- last_entry_id(), last_entry_at() and entry_count(): the journal's newest id and time (NULL when it is empty) and its
-- size, from each table: DuckDB answers these from a table's statistics, not through the view (a scan of both).
CREATE OR REPLACE MACRO last_entry_id() AS
    greatest((SELECT max(entry_id) FROM entry_row), (SELECT max(entry_id) FROM spend_entry));
CREATE OR REPLACE MACRO last_entry_at() AS
    greatest((SELECT max(occurred_at) FROM entry_row), (SELECT max(occurred_at) FROM spend_entry));
CREATE OR REPLACE MACRO entry_count() AS (SELECT count(*) FROM entry_row) + (SELECT count(*) FROM spend_entry);

-- latest_entries(n): the journal's n latest entries, for pages that list them. Found by their ids first: a top-n over
-- the view reads every column of both tables (0.25 s at 10M entries), over the ids alone 0.02 s.
CREATE OR REPLACE MACRO latest_entries(n) AS TABLE
SELECT * FROM entry
WHERE entry_id >= (SELECT min(entry_id) FROM (SELECT entry_id FROM entry ORDER BY entry_id DESC LIMIT n));

-- allocation: how each entry moved money in or out of lots. Sum per lot = the lot's remainder.
CREATE TABLE IF NOT EXISTS allocation (
    entry_id  BIGINT NOT NULL,
    lot_id    BIGINT NOT NULL,
    amount    DECIMAL(18, 2) NOT NULL
);

-- invoice: one per purchase or auto-recharge.
CREATE TABLE IF NOT EXISTS invoice (
    invoice_id  VARCHAR NOT NULL,
    issued_at   TIMESTAMPTZ NOT NULL,
    lot_id      BIGINT NOT NULL,
    amount      DECIMAL(18, 2) NOT NULL,
    reason      VARCHAR NOT NULL         -- 'order' | 'auto_recharge'
);

-- usage_in_arrears: MCA tenants buy no credits; what the remaining lots cannot pay is billed in arrears here
-- (a call may be split: a spend entry for the part the lots paid, a row here for the rest).
CREATE TABLE IF NOT EXISTS usage_in_arrears (
    usage_id     VARCHAR NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    amount       DECIMAL(18, 2) NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL
);
-- added later: reported_late, a call whose log arrived after the ledger had recorded later ones (billed in arrears at
-- its own time all the same; "reported N days late" beside it, as for spends)
ALTER TABLE usage_in_arrears ADD COLUMN IF NOT EXISTS reported_late BOOLEAN;
