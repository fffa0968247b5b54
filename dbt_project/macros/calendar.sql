-- rules.md "Calendar": one place for the local date, the fiscal year (April to March, named
-- 2025-26) and the quarter (Q1 April-June ... Q4 January-March).

{% macro local_date(timestamp_column) -%}
    cast(timezone('{{ var("report_timezone") }}', {{ timestamp_column }}) as date)
{%- endmacro %}

{% macro fiscal_start_year(date_column) -%}
    (year({{ date_column }}) - case when month({{ date_column }}) < {{ var("fiscal_year_start_month") }} then 1 else 0 end)
{%- endmacro %}

{% macro fiscal_year_start(date_column) -%}
    make_date({{ fiscal_start_year(date_column) }}, {{ var("fiscal_year_start_month") }}, 1)
{%- endmacro %}

{% macro fiscal_year(date_column) -%}
    (
        cast({{ fiscal_start_year(date_column) }} as varchar)
        || '-'
        || lpad(cast(({{ fiscal_start_year(date_column) }} + 1) % 100 as varchar), 2, '0')
    )
{%- endmacro %}

{% macro fiscal_month(date_column) -%}
    ((month({{ date_column }}) - {{ var("fiscal_year_start_month") }} + 12) % 12 + 1)
{%- endmacro %}

{% macro fiscal_quarter(date_column) -%}
    (({{ fiscal_month(date_column) }} - 1) // 3 + 1)
{%- endmacro %}

{% macro fiscal_columns(date_column) -%}
    {{ fiscal_year(date_column) }} as fiscal_year,
    {{ fiscal_quarter(date_column) }} as fiscal_quarter,
    cast(date_trunc('month', {{ date_column }}) as date) as month_start
{%- endmacro %}

{% macro normalised_code(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro fiscal_year_start_of_label(fiscal_year_column) -%}
    make_date(cast(left({{ fiscal_year_column }}, 4) as integer), {{ var("fiscal_year_start_month") }}, 1)
{%- endmacro %}
