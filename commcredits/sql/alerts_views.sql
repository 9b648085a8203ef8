-- alerts_sent: the history of alert messages, newest first: what was sent to whom, and what failed.
CREATE OR REPLACE VIEW alerts_sent AS
SELECT attempted_at, day, channel, recipient, check_name, kind, severity, sentence, number, status, attempts,
       error, message_id, run_id, delivery_id
FROM alert_delivery
ORDER BY delivery_id DESC;
