-- Every var of rules.md, by name: rules_config lists them and the fingerprint covers them, so a
-- change to any rule value changes the fingerprint. Add a new rule var here as well.
{% macro rules_var_names() -%}
    {{ return([
        'report_timezone',
        'fiscal_year_start_month',
        'test_queue_pattern',
        'autodialer_max_talk_seconds',
        'autodialer_min_calls',
        'autodialer_window_minutes',
        'short_abandon_seconds',
    ]) }}
{%- endmacro %}

-- The seeds that hold rule mappings; every row of each goes into the fingerprint.
{% macro rules_seed_names() -%}
    {{ return([
        'disposition_categories',
        'funding_sources',
        'survey_answers',
        'survey_channels',
        'web_hostnames',
        'reporting_stages',
        'service_data_elements',
    ]) }}
{%- endmacro %}
