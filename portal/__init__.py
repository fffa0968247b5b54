"""The web portal for finance staff, approvers and the ministry liaison (spec: portal.md).

Above `ingest` and `exports`, below `orchestration`: it never imports Dagster, dbt or the
orchestration package, and never opens the DuckDB warehouse.
"""
