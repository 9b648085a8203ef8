-- reconciliations: every comparison with the admin center's balance, newest first (docs/billing.md).
CREATE OR REPLACE VIEW reconciliations AS
SELECT r.reconciliation_id, r.as_of, r.shown, r.expected, r.difference, r.unexplained,
       t.currency, r.explanations, r.recorded_at
FROM reconciliation r CROSS JOIN (SELECT currency FROM ledger_currency) t
ORDER BY r.reconciliation_id DESC;
