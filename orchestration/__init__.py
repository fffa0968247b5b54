"""Dagster definitions and the o211 command line for the Service Data Schedule pipeline."""
