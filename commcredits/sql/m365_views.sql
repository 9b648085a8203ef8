-- m365_syncs: every sync, newest first, with how it ended ('interrupted' until it finishes or is resumed).
CREATE OR REPLACE VIEW m365_syncs AS
SELECT r.run_id, r.started_at, r.started_by, r.calls_from, r.calls_to, s.finished_at,
       COALESCE(s.status, 'interrupted') AS status, s.users, s.skus, s.license_changes, s.calls_imported,
       s.calls_known, s.calls_quarantined, s.calls_settled, s.amount_settled, s.waited_seconds, s.message,
       (SELECT count(*) FROM m365_sync_window w WHERE w.run_id = r.run_id) AS windows_done
FROM m365_sync_run r
LEFT JOIN m365_sync_result s USING (run_id)
ORDER BY r.run_id DESC;

-- m365_license_history: license changes applied through Microsoft Graph, with who applied them.
CREATE OR REPLACE VIEW m365_license_history AS
SELECT c.changed_at, a.applied_by, c.user_principal_name, c.kind, c.sku_id, c.old_value, c.new_value, c.plan_id,
       a.apply_id
FROM tenant_change c
JOIN m365_apply a ON a.plan_id = c.plan_id
ORDER BY c.change_id;
