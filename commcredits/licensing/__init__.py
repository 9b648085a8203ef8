"""Licensing (Steps 1 and 3): the SKU catalog, tenant import, readiness, license plans and their exports."""
