"""Asset definitions: ingest per kind, the dbt models, the ministry reports."""
