"""Alerts that reach admins before calls stop: checks (pure), delivery (SMTP, Teams webhook), history."""
