"""Shared test data written for the tests (no dev-set content)."""
