-- Statements of the set-based settlement (commcredits/credits/settlement.py). Named parameters are bound;
-- `{charge}` is fixed SQL from that module (a column expression), never input. The calls to settle are staged
-- once in the temp table _settle_input (usage_id, t_us, cents).

-- name: calls_to_settle
-- Into _settle_input (read once by the statements below): what Microsoft charged (billed_by 'microsoft'), rounded
-- half-up to the minor unit (drawn_charge, as view microsoft_charge says), in the ledger's currency: its digits are
-- one constant, not a lookup per row (10M calls: 0.6 -> 0.5 s). Estimates from the rate card never settle.
-- Only the calls imported after $since (settle_mark) and the blocked ones: every other was settled already.
-- (Two scans rather than an OR: DuckDB then skips the row groups imported before $since.)
CREATE OR REPLACE TEMP TABLE _settle_input AS
SELECT c.usage_id, epoch_us(c.start_at) AS t_us, (drawn_charge(c.charge, $digits) * 100)::BIGINT AS cents
FROM (SELECT * FROM pstn_call WHERE imported_at > $since
      UNION ALL
      SELECT * FROM pstn_call
      WHERE imported_at <= $since AND usage_id IN (SELECT usage_id FROM blocked_call)) c
WHERE billed_by(c.operator, c.charge) = 'microsoft' AND drawn_charge(c.charge, $digits) > 0
  AND c.currency = $currency AND ($until::TIMESTAMPTZ IS NULL OR c.start_at <= $until);

-- name: since
-- Where the next settlement starts reading imported calls: the mark less an hour, or the beginning.
SELECT coalesce((SELECT settled_through FROM settle_mark) - INTERVAL 1 HOUR, TIMESTAMPTZ '1970-01-01 00:00:00+00');

-- name: set_mark
-- After a settlement: every call imported by now was considered, except (up to $1) the calls after $1, so the mark
-- stops just before the first of those was imported. It never moves back. $2: where this settlement started
-- reading (without $1 only a call imported after it can move the mark: a constant, so DuckDB skips the row groups
-- imported before), else the beginning.
INSERT OR REPLACE INTO settle_mark
SELECT 1, greatest(mark, (SELECT max(settled_through) FROM settle_mark)) FROM (
    SELECT least(max(imported_at),
                 min(imported_at) FILTER (WHERE start_at > $1::TIMESTAMPTZ) - INTERVAL 1 MICROSECOND) AS mark
    FROM pstn_call WHERE imported_at > $2)
WHERE mark IS NOT NULL;

-- name: row_status_counts
-- Imported calls by what Microsoft's row decides (call_row_status); NULL: charged in the ledger's currency, up to
-- $1 (settled or blocked after a settlement). Without $1: the tally (call_status_tally) plus the calls imported
-- after it ($2, a constant so DuckDB skips the row groups imported before).
SELECT row_status, sum(n)::BIGINT FROM (
    SELECT row_status, calls AS n FROM call_status_tally WHERE $1::TIMESTAMPTZ IS NULL
    UNION ALL
    SELECT row_status, count(*) FROM call_row_status
    WHERE imported_at > $2 AND (row_status IS NOT NULL OR $1::TIMESTAMPTZ IS NULL OR start_at <= $1)
    GROUP BY row_status)
GROUP BY row_status;

-- name: advance_tally
-- The tally moved on to $2 (settle_mark less an hour) from $1, where it stood: what it held plus the calls imported
-- in between. Into _tally, which replaces it.
CREATE OR REPLACE TEMP TABLE _tally AS
SELECT $2::TIMESTAMPTZ AS through, row_status, sum(n)::BIGINT AS calls FROM (
    SELECT row_status, calls AS n FROM call_status_tally
    UNION ALL
    SELECT row_status, count(*) FROM call_row_status WHERE imported_at > $1 AND imported_at <= $2 GROUP BY row_status)
GROUP BY row_status;

-- name: stage_given
-- Calls given as a table (_settle_given: usage_id, start_at, charge) up to $1, as integer hundredths with
-- flags for charges that are missing or negative, or finer than a hundredth, and for calls without a start time.
CREATE OR REPLACE TEMP TABLE _settle_input AS
SELECT usage_id, t_us, (exact * 100)::BIGINT AS cents,
       exact IS NULL OR exact < 0 AS missing, round(exact, 2) <> exact AS fraction, t_us IS NULL AS no_time
FROM (SELECT usage_id::VARCHAR AS usage_id, epoch_us(start_at::TIMESTAMPTZ) AS t_us,
             TRY_CAST({charge} AS DECIMAL(18, 6)) AS exact
      FROM _settle_given
      WHERE $1::TIMESTAMPTZ IS NULL OR start_at::TIMESTAMPTZ <= $1);

-- name: known_calls
-- The calls to settle that are already in the ledger (as spend, or drawn + billed in arrears for MCA), with
-- their cents. Small (usually empty): only these ids are grouped, never every spend of the ledger. A call's spend
-- and arrears happen at its time or later, so only entries from $from on (the earliest call to settle; DuckDB
-- skips the row groups before it) can be theirs, except for the ids recorded apart from the call log
-- (spend_outside_log): when some of those are among the calls, $from is the beginning and every entry is read.
CREATE OR REPLACE TEMP TABLE _settle_known AS
SELECT usage_id, (sum(charged) * 100)::BIGINT AS cents FROM call_charged_rows($from)
WHERE usage_id IN (SELECT usage_id FROM _settle_input)
GROUP BY usage_id HAVING sum(charged) <> 0;  -- a call a late one reversed (blocked then) is not in the ledger

-- name: known_from
-- Where known_calls starts reading entries: the earliest call to settle, or the beginning when one of them was
-- recorded apart from the call log (its entry's time need not be the call's) or the calls were given as a table.
SELECT CASE WHEN $given OR EXISTS (SELECT 1 FROM _settle_input WHERE usage_id IN (SELECT usage_id FROM spend_outside_log))
            THEN TIMESTAMPTZ '0001-01-01 00:00:00+00'
            ELSE coalesce(to_timestamp(0) + to_microseconds(min(t_us)), TIMESTAMPTZ '0001-01-01 00:00:00+00') END
FROM _settle_input;

-- name: conflicts
-- Calls whose usage id is already settled with another amount.
SELECT count(*) FROM _settle_input c JOIN _settle_known k USING (usage_id) WHERE c.cents > 0 AND k.cents <> c.cents;

-- name: last_recorded
-- The latest instant (µs) the ledger judged a call or recorded money at: entries, MCA usage billed in arrears (no
-- entry), calls blocked. A call before it is late: what was judged after it may change.
SELECT epoch_us(greatest(last_entry_at(), (SELECT max(occurred_at) FROM usage_in_arrears),
                         (SELECT max(start_at) FROM blocked_call)));

-- name: new_calls
-- The staged calls to settle: charged, and not in the ledger yet.
CREATE OR REPLACE TEMP VIEW _settle_new AS
SELECT usage_id, t_us, cents FROM _settle_input
WHERE cents > 0 AND usage_id NOT IN (SELECT usage_id FROM _settle_known);

-- name: new_call_counts
-- Of the calls to settle: how many are late (earlier than $last, the latest instant the ledger judged a call or
-- recorded money at: settlement_late takes them at their own time with the ledger from then on), and how many have
-- more decimals than the currency ($unit = 10^(2 - exponent)).
SELECT count(*) FILTER (WHERE t_us < $last), count(*) FILTER (WHERE cents % $unit <> 0) FROM _settle_new;

-- name: time_span
SELECT min(t_us), max(t_us) FROM _settle_input;

-- name: ordered_run
-- The calls to settle from $lo (µs) up to $hi, in the order the ledger records them; a chunk is read by position.
-- One run of times at a time: each sort fits in memory (one sort of 10M calls spilled to disk under the memory cap:
-- 2-3 s, against ~1.2 s this way).
CREATE OR REPLACE TEMP TABLE _settle_calls AS
SELECT usage_id, t_us, cents FROM _settle_new WHERE t_us >= $lo AND t_us < $hi ORDER BY t_us, usage_id;

-- name: open_lots
-- Lots whose expiry is not recorded, oldest purchase first, with their remainders in cents: the sums the rollups
-- keep (lot_rollup) plus the allocations after their mark ($1, a constant so DuckDB skips the row groups before it).
WITH moved AS (
    SELECT lot_id, amount, expired FROM lot_rollup
    UNION ALL
    SELECT a.lot_id, a.amount, e.kind = 'expiry' FROM allocation a JOIN entry e USING (entry_id)
    WHERE a.entry_id > $1 AND e.entry_id > $1
)
SELECT l.lot_id, epoch_us(l.expires_at), (COALESCE(SUM(m.amount), 0) * 100)::BIGINT
FROM lot l LEFT JOIN moved m USING (lot_id)
GROUP BY l.lot_id, l.purchased_at, l.expires_at
HAVING NOT coalesce(bool_or(m.expired), false)
ORDER BY l.purchased_at, l.lot_id;

-- name: busiest_recharge_day
-- Most auto-recharges on one UTC day.
SELECT COALESCE(max(n), 0) FROM (
    SELECT count(*) AS n FROM lot WHERE source = 'auto_recharge' GROUP BY CAST(purchased_at AS DATE));

-- name: status_after_until
-- Charged calls after `until` ($1), by status: only these need their spend entries looked up.
SELECT status, count(*) FROM call_charges
WHERE start_at > $1 AND status IN ('settled', 'blocked', 'pending')
GROUP BY status;
