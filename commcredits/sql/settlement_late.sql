-- Re-settling from the earliest late call (commcredits/credits/settlement_late.py). Times are µs since the
-- epoch (UTC); money in the _late_* tables is integer hundredths. $1 is t0 unless said otherwise. Columns are
-- compared with t0 as a timestamp (to_timestamp(0) + to_microseconds($1)), never wrapped in epoch_us(): DuckDB then
-- skips the row groups written before t0, so the work grows with what happened since, not with the journal.

-- name: lot_state
-- Every lot with what it holds now and whether its expiry is recorded: the sums the rollups keep (lot_rollup) plus
-- the allocations after their mark ($2, a constant so DuckDB skips the row groups before it). Into _late_lot_state.
CREATE OR REPLACE TEMP TABLE _late_lot_state AS
WITH moved AS (
    SELECT lot_id, amount, expired FROM lot_rollup
    UNION ALL
    SELECT a.lot_id, a.amount, e.kind = 'expiry' FROM allocation a JOIN entry e USING (entry_id)
    WHERE a.entry_id > $2 AND e.entry_id > $2
)
SELECT l.lot_id, l.purchased_at, l.expires_at, coalesce(sum(m.amount), 0) AS remaining,
       coalesce(bool_or(m.expired), false) AS expired
FROM lot l LEFT JOIN moved m USING (lot_id)
WHERE l.purchased_at < to_timestamp(0) + to_microseconds($1)
GROUP BY l.lot_id, l.purchased_at, l.expires_at;

-- name: lots_alive_at
-- Lots bought before t0, neither reversed (a recharge a late call undid) nor expired before t0, with what they
-- held just before t0 (all they hold now less what the entries from t0 on moved); oldest purchase first (the FIFO
-- order). A lot's expiry is recorded at its expires_at, and its purchase (or recharge, or a reversal of it) at its
-- purchased_at: $2, the earliest purchase of a lot that may be alive, bounds the entries read for reversals.
WITH candidates AS (
    SELECT * FROM _late_lot_state WHERE NOT (expired AND expires_at < to_timestamp(0) + to_microseconds($1))
), reversed AS (
    SELECT lot_id FROM entry
    WHERE occurred_at >= $2 AND kind IN ('purchase', 'recharge') GROUP BY lot_id HAVING sum(amount) = 0
), since_t0 AS (
    SELECT entry_id FROM entry WHERE occurred_at >= to_timestamp(0) + to_microseconds($1)
), later AS (
    SELECT a.lot_id, sum(a.amount) AS amount FROM allocation a
    WHERE a.entry_id >= $3 AND a.entry_id IN (SELECT entry_id FROM since_t0)
    GROUP BY a.lot_id
)
SELECT c.lot_id, epoch_us(c.expires_at), ((c.remaining - coalesce(l.amount, 0)) * 100)::BIGINT
FROM candidates c LEFT JOIN later l USING (lot_id)
WHERE c.lot_id NOT IN (SELECT lot_id FROM reversed)
ORDER BY c.purchased_at, c.lot_id;

-- name: alive_bounds
-- For lots_alive_at: the earliest purchase among the lots that may be alive at t0 ($1), and the first entry from t0
-- on (allocations are written after their entry, so those of entries from t0 on have ids from there on).
SELECT (SELECT min(purchased_at) FROM _late_lot_state
        WHERE NOT (expired AND expires_at < to_timestamp(0) + to_microseconds($1))),
       (SELECT min(entry_id) FROM entry WHERE occurred_at >= to_timestamp(0) + to_microseconds($1));

-- name: orders_from
-- Manual orders from t0 on, in purchase order: (lot_id, bought, expires, cents).
SELECT lot_id, epoch_us(purchased_at), epoch_us(expires_at), (amount * 100)::BIGINT FROM lot
WHERE source = 'order' AND purchased_at >= to_timestamp(0) + to_microseconds($1)
ORDER BY purchased_at, lot_id;

-- name: calls_from
-- Every call from t0 on, each once, in call order, at its full charge: those the ledger holds (their spends net of
-- adjustments, plus what usage_in_arrears bills for them on MCA), the new ones (_settle_late), and those blocked
-- before (the balance may pay them now).
SELECT usage_id, t_us, cents FROM (
    SELECT *, row_number() OVER (PARTITION BY usage_id ORDER BY rank) AS n FROM (
        SELECT usage_id, epoch_us(min(call_at)) AS t_us, (sum(charged) * 100)::BIGINT AS cents, 0 AS rank
        FROM call_charged_rows(to_timestamp(0) + to_microseconds($1))
        WHERE call_at >= to_timestamp(0) + to_microseconds($1)
        GROUP BY usage_id HAVING sum(charged) <> 0
        UNION ALL SELECT usage_id, t_us, cents, 1 FROM _settle_late
        UNION ALL SELECT usage_id, epoch_us(start_at), (charge * 100)::BIGINT, 2 FROM blocked_call
        WHERE start_at >= to_timestamp(0) + to_microseconds($1)))
WHERE n = 1 AND cents > 0
ORDER BY t_us, usage_id;

-- name: map_new_lots
-- Recharge lots of the replay (placeholder lot_ref): the lot already recorded under the same key, else a new
-- lot id from $1 on, in purchase order.
CREATE OR REPLACE TEMP TABLE _late_lots AS
WITH m AS (
    SELECT m.*, l.lot_id AS known FROM _late_made m
    LEFT JOIN lot l ON l.order_id = m.key AND l.source = 'auto_recharge'
)
SELECT lot_ref, known AS lot_id, false AS is_new, key, purchased_us, expires_us, cents FROM m WHERE known IS NOT NULL
UNION ALL
SELECT lot_ref, $1 + row_number() OVER (ORDER BY purchased_us, lot_ref) - 1, true, key, purchased_us, expires_us, cents
FROM m WHERE known IS NULL;

-- name: differences
-- Per (entry key, lot): what the replay moved less what the recorded entries from t0 on (with their adjusting
-- entries) moved. `known`: the key is recorded already (so the difference is an adjusting entry).
CREATE OR REPLACE TEMP TABLE _late_diff AS
WITH ref AS (
    SELECT CASE WHEN r.kind = 'expiry' THEN 'expiry:' || coalesce(m.lot_id, r.lot_ref) ELSE r.key END AS key,
           r.kind, r.occurred_us, coalesce(m.lot_id, r.lot_ref) AS lot_id, r.cents, r.usage_id
    FROM _late_reference r LEFT JOIN _late_lots m USING (lot_ref)
), scope AS (
    SELECT entry_id, coalesce(adjusts, entry_key(idempotency_key, usage_id)) AS key, kind, epoch_us(occurred_at) AS occurred_us, usage_id
    FROM entry
    WHERE occurred_at >= to_timestamp(0) + to_microseconds($1)  -- implied by either test below; skips row groups
      AND ((kind = 'spend' AND call_at >= to_timestamp(0) + to_microseconds($1)) OR kind IN ('recharge', 'expiry'))
), cur AS (
    SELECT s.key, any_value(s.kind) AS kind, min(s.occurred_us) AS occurred_us, a.lot_id,
           sum((a.amount * 100)::BIGINT) AS cents, any_value(s.usage_id) AS usage_id
    FROM scope s JOIN allocation a USING (entry_id)
    GROUP BY s.key, a.lot_id
), known AS (SELECT DISTINCT key FROM scope)
SELECT coalesce(r.key, c.key) AS key, coalesce(r.kind, c.kind) AS kind,
       coalesce(r.occurred_us, c.occurred_us) AS occurred_us, coalesce(r.lot_id, c.lot_id) AS lot_id,
       coalesce(r.cents, 0) - coalesce(c.cents, 0) AS delta, coalesce(r.usage_id, c.usage_id) AS usage_id,
       coalesce(r.key, c.key) IN (SELECT key FROM known) AS known
FROM ref r FULL JOIN cur c ON r.key = c.key AND r.lot_id = c.lot_id;

-- name: plan_entries
-- One entry per key with a difference (or new): ids after the last, in time order.
CREATE OR REPLACE TEMP TABLE _late_entries AS
SELECT coalesce(last_entry_id(), 0) + row_number() OVER (ORDER BY occurred_us, key) AS entry_id, *
FROM (
    SELECT key, any_value(kind) AS kind, min(occurred_us) AS occurred_us, sum(delta) AS cents, bool_or(known) AS known,
           any_value(usage_id) AS usage_id, CASE WHEN any_value(kind) <> 'spend' THEN any_value(lot_id) END AS lot_id
    FROM _late_diff GROUP BY key
    HAVING bool_or(delta <> 0) OR NOT bool_or(known)
);

-- name: insert_lots
-- New recharge lots ($1 unused: every insert here takes the wall clock).
INSERT INTO lot
SELECT lot_id, to_timestamp(0) + to_microseconds(purchased_us), to_timestamp(0) + to_microseconds(expires_us),
       cents / 100, 'auto_recharge', key
FROM _late_lots WHERE is_new AND $1::TIMESTAMPTZ IS NOT NULL AND key IN (SELECT key FROM _late_entries)
ORDER BY lot_id;

-- name: insert_invoices
INSERT INTO invoice
SELECT printf('INV-%06d', lot_id), to_timestamp(0) + to_microseconds(purchased_us), lot_id, cents / 100,
       'auto_recharge'
FROM _late_lots WHERE is_new AND $1::TIMESTAMPTZ IS NOT NULL AND key IN (SELECT key FROM _late_entries)
ORDER BY lot_id;

-- name: insert_entries
-- An entry for a key not recorded yet is its ordinary entry; for a recorded one, an adjusting entry.
INSERT INTO entry_row BY NAME
SELECT entry_id, to_timestamp(0) + to_microseconds(occurred_us) AS occurred_at, kind, cents / 100 AS amount,
       CASE WHEN known THEN 'adjust:' || entry_id WHEN kind <> 'spend' THEN key END AS idempotency_key, lot_id,
       $1 AS recorded_at,
       usage_id, CASE WHEN kind = 'spend' THEN to_timestamp(0) + to_microseconds(occurred_us) END AS call_at,
       CASE WHEN known THEN key END AS adjusts,
       CASE WHEN kind = 'spend' AND NOT known
            THEN to_timestamp(0) + to_microseconds(occurred_us) < last_entry_at() END AS reported_late
FROM _late_entries ORDER BY entry_id;

-- name: insert_allocations
INSERT INTO allocation
SELECT e.entry_id, d.lot_id, d.delta / 100
FROM _late_diff d JOIN _late_entries e USING (key)
WHERE (d.delta <> 0 OR NOT e.known) AND $1::TIMESTAMPTZ IS NOT NULL
ORDER BY e.entry_id, d.lot_id;

-- name: difference_counts
-- New calls settled, their cents, new recharges and their cents, expiries recorded, and the change in what
-- expiries forfeit.
SELECT count(*) FILTER (WHERE kind = 'spend' AND NOT known), -sum(cents) FILTER (WHERE kind = 'spend' AND NOT known),
       count(*) FILTER (WHERE kind = 'recharge' AND NOT known), sum(cents) FILTER (WHERE kind = 'recharge' AND NOT known),
       count(*) FILTER (WHERE kind = 'expiry' AND NOT known), -sum(cents) FILTER (WHERE kind = 'expiry')
FROM _late_entries;

-- name: arrears_differences
-- MCA: per call from t0 ($1) on, what the replay bills in arrears (_late_arrears, cents) less what usage_in_arrears
-- holds for it (its rows sum to what it is billed); the call's time for each difference.
CREATE OR REPLACE TEMP TABLE _late_arrears_diff AS
WITH recorded AS (
    SELECT usage_id, epoch_us(min(occurred_at)) AS occurred_us, sum((amount * 100)::BIGINT) AS cents
    FROM usage_in_arrears WHERE occurred_at >= to_timestamp(0) + to_microseconds($1)
    GROUP BY usage_id
)
SELECT usage_id, coalesce(r.occurred_us, c.occurred_us) AS occurred_us,
       coalesce(r.cents, 0) - coalesce(c.cents, 0) AS delta
FROM _late_arrears r FULL JOIN recorded c USING (usage_id)
WHERE coalesce(r.cents, 0) <> coalesce(c.cents, 0);

-- name: insert_arrears_differences
-- One new usage_in_arrears row per difference, recorded now ($1), at its call's time; a call of this settlement
-- whose log came after later ones (_settle_late.late) is marked reported_late.
INSERT INTO usage_in_arrears BY NAME
SELECT d.usage_id, to_timestamp(0) + to_microseconds(d.occurred_us) AS occurred_at,
       (d.delta * 0.01)::DECIMAL(18, 2) AS amount, $1 AS recorded_at, s.late AS reported_late
FROM _late_arrears_diff d LEFT JOIN _settle_late s USING (usage_id)
ORDER BY d.occurred_us, d.usage_id;

-- name: arrears_counts
-- The calls whose arrears changed (a new late one billed in arrears, or a later call it moved to or from arrears),
-- and the change in what is billed in arrears (cents).
SELECT count(*), coalesce(sum(delta), 0) FROM _late_arrears_diff;
