"""The base layer every other package stands on: data paths, the kinds of extract, the fiscal
calendar and the element catalogue. It imports no Dagster, no dbt and no other package of ours."""
