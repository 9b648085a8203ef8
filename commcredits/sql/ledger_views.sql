-- Views analysts query. Their names and columns are a stable interface documented in README.md.

-- lots: every lot with what is left of it now (sums kept in lot_rollup, plus the entries after its mark);
-- invoice_id names the purchase (one name everywhere).
CREATE OR REPLACE VIEW lots AS
SELECT l.lot_id, l.purchased_at, l.expires_at, l.amount, l.source, l.order_id, i.invoice_id,
       COALESCE(SUM(m.amount), 0)::DECIMAL(18, 2)     AS remaining,
       COALESCE(SUM(m.spent), 0)::DECIMAL(18, 2)      AS spent,
       COALESCE(SUM(m.forfeited), 0)::DECIMAL(18, 2)  AS forfeited,
       bool_or(m.expired) IS TRUE                     AS expired
FROM lot l
LEFT JOIN invoice i USING (lot_id)
LEFT JOIN (
    SELECT lot_id, amount, spent, forfeited, expired FROM lot_rollup
    UNION ALL
    SELECT a.lot_id, a.amount,
           CASE WHEN e.kind = 'spend' THEN -a.amount ELSE 0 END,
           CASE WHEN e.kind = 'expiry' THEN -a.amount ELSE 0 END,
           e.kind = 'expiry'
    FROM allocation a JOIN entry e USING (entry_id)
    WHERE a.entry_id > (SELECT coalesce(max(through_entry), 0) FROM rollup_mark)
      AND e.entry_id > (SELECT coalesce(max(through_entry), 0) FROM rollup_mark)
) m USING (lot_id)
GROUP BY ALL;

-- entry_key(idempotency_key, usage_id): an entry's natural key as text; a spend's is 'usage:<usage_id>'.
CREATE OR REPLACE MACRO entry_key(idempotency_key, usage_id) AS coalesce(idempotency_key, 'usage:' || usage_id);

-- entries: the journal in the order it happened, with the balance after each entry; a purchase, recharge or
-- expiry names its lot's invoice number (invoice_id) and order id.
CREATE OR REPLACE VIEW entries AS
SELECT e.entry_id, e.occurred_at, e.kind, e.amount, entry_key(e.idempotency_key, e.usage_id) AS idempotency_key,
       e.lot_id, e.recorded_at,
       SUM(e.amount) OVER (ORDER BY e.entry_id ROWS UNBOUNDED PRECEDING)::DECIMAL(18, 2) AS balance_after,
       i.invoice_id, l.order_id, e.usage_id, e.call_at, e.adjusts, e.reported_late
FROM entry e
LEFT JOIN invoice i ON i.lot_id = e.lot_id
LEFT JOIN lot l ON l.lot_id = e.lot_id;

-- allocations: each entry's movement per lot, with the entry's time and kind.
CREATE OR REPLACE VIEW allocations AS
SELECT a.entry_id, e.occurred_at, e.kind, entry_key(e.idempotency_key, e.usage_id) AS idempotency_key, a.lot_id,
       a.amount
FROM allocation a JOIN entry e USING (entry_id);

-- invoices: one per purchase and per auto-recharge.
CREATE OR REPLACE VIEW invoices AS
SELECT i.invoice_id, i.issued_at, i.amount, i.reason, i.lot_id, l.order_id, l.expires_at
FROM invoice i JOIN lot l USING (lot_id);

-- balance_history: the balance after every change, as a time series.
CREATE OR REPLACE VIEW balance_history AS
SELECT occurred_at, entry_id, kind, amount AS change, balance_after AS balance
FROM entries;

-- call_charged_rows(since): what calls were charged, row by row, from the instant `since` on: their spend entries
-- (adjusting ones included, as positive charges) and what MCA bills for them in arrears. A call's rows sum to its
-- whole charge (0 when a late call reversed it). The one definition the settlement, its late replay and
-- Ledger.spend read a call's charge by. Both rows are recorded at the call's time or later, so `since` (a
-- constant) lets DuckDB skip the row groups before it. original: a call's own spend entry (not an adjustment).
CREATE OR REPLACE MACRO call_charged_rows(since) AS TABLE
SELECT usage_id, call_at, -amount AS charged, entry_id, adjusts IS NULL AS original
FROM entry WHERE kind = 'spend' AND occurred_at >= since
UNION ALL
SELECT usage_id, occurred_at, amount, NULL, false FROM usage_in_arrears WHERE occurred_at >= since;

-- usage_billed_in_arrears: MCA usage, as recorded: a call's rows sum to what it is billed in arrears (a late call
-- log that changes it appends the difference, at the call's time).
CREATE OR REPLACE VIEW usage_billed_in_arrears AS
SELECT usage_id, occurred_at, amount, recorded_at, reported_late FROM usage_in_arrears;
