-- The ten elements month by month for every fiscal year with data (report.md "Monthly").
with

measures as (
    select * from {{ ref('int_elements__monthly_grid') }}
),

final as (
    select
        fiscal_year,
        month_start,
        fiscal_month,
        fiscal_quarter,
        element_order,
        element,
        unit,
        {{ element_value('unit', 'count_value', 'numerator', 'denominator', 'exact_amount') }}
            as value,
        case when unit = 'percent' then numerator end as numerator,
        case when unit = 'percent' then denominator end as denominator,
        exact_amount
    from measures
)

select * from final
