-- rules.md "Calendar": one place for the local date, the fiscal year (April to March, named
-- 2025-26) and the quarter (Q1 April-June ... Q4 January-March).

-- the local date in report_timezone of an exact instant (timestamptz)
{% macro local_date(timestamp_column) -%}
cast(timezone('{{ var("report_timezone") }}', {{ timestamp_column }}) as date)
{%- endmacro %}

-- the calendar year in which the fiscal year of a date starts (2025 for 2025-26)
{% macro fiscal_start_year(date_column) -%}
(
    year({{ date_column }})
    - case when month({{ date_column }}) < {{ var("fiscal_year_start_month") }} then 1 else 0 end
)
{%- endmacro %}

-- the name of the fiscal year starting in a given calendar year: 2025 -> 2025-26
{% macro fiscal_year_label(start_year) -%}
(
    cast({{ start_year }} as varchar)
    || '-'
    || lpad(cast(({{ start_year }} + 1) % 100 as varchar), 2, '0')
)
{%- endmacro %}

-- the fiscal year's name of a date, 2025-26
{% macro fiscal_year(date_column) -%}
{{ fiscal_year_label(fiscal_start_year(date_column)) }}
{%- endmacro %}

-- the first day of a fiscal year given its name
{% macro fiscal_year_start_of_label(fiscal_year_column) -%}
make_date(
    cast(left({{ fiscal_year_column }}, 4) as integer), {{ var("fiscal_year_start_month") }}, 1
)
{%- endmacro %}

-- month of the fiscal year, April = 1
{% macro fiscal_month(date_column) -%}
((month({{ date_column }}) - {{ var("fiscal_year_start_month") }} + 12) % 12 + 1)
{%- endmacro %}

-- quarter of the fiscal year, 1 = April-June
{% macro fiscal_quarter(date_column) -%}
(({{ fiscal_month(date_column) }} - 1) // 3 + 1)
{%- endmacro %}

{% macro fiscal_columns(date_column) -%}
{{ fiscal_year(date_column) }} as fiscal_year,
{{ fiscal_quarter(date_column) }} as fiscal_quarter,
cast(date_trunc('month', {{ date_column }}) as date) as month_start
{%- endmacro %}

-- wrap-up and language codes are compared trimmed and case-insensitive; blank is no code
{% macro normalised_code(column) -%}
nullif(lower(trim({{ column }})), '')
{%- endmacro %}
