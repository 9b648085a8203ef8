"""Microsoft 365 through Microsoft Graph: connect, check permissions, sync, apply plans (SDK imported lazily)."""
