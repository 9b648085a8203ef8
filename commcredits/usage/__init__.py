"""Usage: call log import, rate-card estimates and insights (runway, expiry, what-if)."""
