-- Every month of every fiscal year with data crossed with the ten elements, so that a month or a
-- quarter without data reads 0 (satisfaction: blank, decided by element_value), never missing.
with

measures as (
    select * from {{ ref('int_elements__monthly_measures') }}
),

elements as (
    select * from {{ ref('service_data_elements') }}
),

fiscal_years as (
    select distinct fiscal_year
    from measures
),

months as (
    select
        fiscal_years.fiscal_year,
        cast(month_series.month_start as date) as month_start
    from fiscal_years
    cross join lateral (
        select unnest(generate_series(
            {{ fiscal_year_start_of_label('fiscal_years.fiscal_year') }},
            {{ fiscal_year_start_of_label('fiscal_years.fiscal_year') }} + interval 11 month,
            interval 1 month
        )) as month_start
    ) as month_series
),

final as (
    select
        months.fiscal_year,
        months.month_start,
        {{ fiscal_month('months.month_start') }} as fiscal_month,
        {{ fiscal_quarter('months.month_start') }} as fiscal_quarter,
        elements.element_order,
        elements.element,
        elements.unit,
        cast(coalesce(measures.count_value, 0) as bigint) as count_value,
        cast(coalesce(measures.numerator, 0) as bigint) as numerator,
        cast(coalesce(measures.denominator, 0) as bigint) as denominator,
        cast(coalesce(measures.exact_amount, 0) as decimal(38, 4)) as exact_amount
    from months
    cross join elements
    left join measures
        on
            months.fiscal_year = measures.fiscal_year
            and months.month_start = measures.month_start
            and elements.element_order = measures.element_order
)

select * from final
