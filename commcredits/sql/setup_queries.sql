-- name: priced_records
-- How many records carry an amount in the ledger's currency: while there are none, the currency may change.
SELECT entry_count() + (SELECT count(*) FROM lot) + (SELECT count(*) FROM pstn_call)
     + (SELECT count(*) FROM reconciliation) + (SELECT count(*) FROM rate_card)
     + (SELECT count(*) FROM usage_in_arrears) + (SELECT count(*) FROM alert_setting)
     + (SELECT count(*) FROM auto_recharge_change WHERE enabled);

-- name: tenant_records
-- How many users and calls the ledger holds (a ledger with none and no setup is empty: it opens on the setup).
SELECT (SELECT count(*) FROM tenant_user) + (SELECT count(*) FROM pstn_call) + entry_count();

-- name: append_currency
INSERT INTO tenant VALUES ($currency, $changed_at);
