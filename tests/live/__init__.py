"""Helpers for tests that drive a real `o211 serve` (Dagster webserver and daemon) on loopback."""
