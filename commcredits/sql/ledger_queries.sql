-- Reads and writes of the ledger (commcredits/credits/ledger.py), run inside its transactions.
-- Parameters are bound by position.

-- name: last_entry_time
-- When the latest recorded entry (or MCA usage billed in arrears, which has no entry) happened: the ledger records
-- in time order.
SELECT greatest(last_entry_at(), (SELECT max(occurred_at) FROM usage_in_arrears));

-- name: due_lots
-- Lots due to expire at an instant ($1), with what is left of them; oldest first.
SELECT l.lot_id, l.expires_at, COALESCE(SUM(a.amount), 0) AS remaining
FROM lot l LEFT JOIN allocation a USING (lot_id)
WHERE l.expires_at <= $1
  AND l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind = 'expiry')
GROUP BY l.lot_id, l.expires_at
ORDER BY l.lot_id;

-- name: open_lots
-- Lots that can still pay at an instant ($1), oldest purchase first (a recharge a late call made has a later
-- lot_id than the lots bought after it).
SELECT a.lot_id, SUM(a.amount) AS remaining
FROM allocation a JOIN lot l USING (lot_id)
WHERE l.expires_at > $1
GROUP BY a.lot_id, l.purchased_at
HAVING SUM(a.amount) > 0
ORDER BY l.purchased_at, a.lot_id;

-- name: balance_at
-- Balance as of an instant ($1): recorded entries up to it, less remainders of lots whose expiry is due by
-- then but not yet recorded (such a lot expires after every recorded entry, so its current remainder is right).
SELECT (SELECT COALESCE(SUM(amount), 0) FROM entry WHERE occurred_at <= $1)
     - (SELECT COALESCE(SUM(a.amount), 0)
        FROM allocation a JOIN lot l USING (lot_id)
        WHERE l.expires_at <= $1
          AND l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind = 'expiry'));

-- name: balance_at_known
-- The same from the entries recorded by $2 only (bitemporal: occurred_at is when it happened, recorded_at
-- when the ledger learnt it): what the ledger said at $2 about the balance at $1, before later call logs
-- corrected it.
SELECT (SELECT COALESCE(SUM(amount), 0) FROM entry WHERE occurred_at <= $1 AND recorded_at <= $2)
     - (SELECT COALESCE(SUM(a.amount), 0)
        FROM allocation a JOIN lot l USING (lot_id) JOIN entry e USING (entry_id)
        WHERE l.expires_at <= $1 AND e.recorded_at <= $2
          AND l.lot_id NOT IN (SELECT lot_id FROM entry WHERE kind = 'expiry' AND recorded_at <= $2));

-- name: insert_entry
-- Append one journal entry ($1 occurred_at, $2 kind, $3 amount, $4 idempotency_key, $5 lot_id,
-- $6 recorded_at, $7 usage_id, $8 call_at); returns its entry_id.
INSERT INTO entry_row (entry_id, occurred_at, kind, amount, idempotency_key, lot_id, recorded_at, usage_id, call_at)
VALUES (coalesce(last_entry_id(), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8)
RETURNING entry_id;

-- name: next_lot
-- The next lot_id, and what all purchases so far add up to (the ledger's ceiling on the total).
SELECT COALESCE(max(lot_id), 0) + 1, COALESCE(sum(amount), 0) FROM lot;

-- name: lot_by_order
-- The lot an order ($1) bought, if that order was already placed.
SELECT lot_id, purchased_at, expires_at, amount, source, order_id
FROM lot WHERE order_id = $1 AND source = 'order';

-- name: recorded_spend
-- A usage id ($1) already recorded: its spend entry (not an adjusting one) and the total charged: what its entries
-- drew (net of adjustments) plus what an MCA tenant is billed for it in arrears, or, for a call a late one reversed
-- (nothing drawn now), what its spend first drew. No row when the id is new.
SELECT max(entry_id) FILTER (WHERE original),
       CASE WHEN sum(charged) <> 0 THEN sum(charged) ELSE sum(charged) FILTER (WHERE original) END
FROM call_charged_rows(TIMESTAMPTZ '0001-01-01 00:00:00+00')
WHERE usage_id = $1
HAVING count(*) > 0;

-- name: entry_allocations
-- What one entry ($1) moved per lot.
SELECT lot_id, amount FROM allocation WHERE entry_id = $1 ORDER BY lot_id;

-- name: calls_judged_before
-- The latest call time among the calls the ledger paid or billed in arrears before $1 (wall clock, recorded_at):
-- they were judged by the settings saved then. (Blocked calls are not: settled again, they are judged anew.)
SELECT greatest((SELECT max(call_at) FROM entry WHERE kind = 'spend' AND recorded_at < $1),
                (SELECT max(occurred_at) FROM usage_in_arrears WHERE recorded_at < $1));
