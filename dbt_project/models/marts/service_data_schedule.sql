-- The Service Data Schedule: the ten elements for every fiscal year with data and every enabled
-- stage, year-to-date from 1 April to the stage's end, with the quarters reached (rules.md
-- "Calendar"; values per element_value).
with

measures as (
    select * from {{ ref('int_elements__monthly_grid') }}
),

reporting_periods as (
    select * from {{ ref('int_reporting__periods') }}
),

elements as (
    select * from {{ ref('service_data_elements') }}
),

fingerprint as (
    select * from {{ ref('rules_fingerprint') }}
),

-- one row per stage, element and period: the year to date (quarter 0) and each quarter reached
periods as (
    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        measures.element_order,
        quarters.quarter,
        sum(measures.count_value) as count_value,
        sum(measures.numerator) as numerator,
        sum(measures.denominator) as denominator,
        sum(measures.exact_amount) as exact_amount
    from reporting_periods
    inner join measures
        on
            reporting_periods.fiscal_year = measures.fiscal_year
            and reporting_periods.end_fiscal_month >= measures.fiscal_month
    cross join (select unnest([0, 1, 2, 3, 4]) as quarter) as quarters
    where quarters.quarter = 0 or quarters.quarter = measures.fiscal_quarter
    group by all
),

valued as (
    select
        periods.*,
        {{ element_value('elements.unit', 'periods.count_value', 'periods.numerator',
            'periods.denominator', 'periods.exact_amount') }} as value
    from periods
    inner join elements
        on periods.element_order = elements.element_order
),

pivoted as (
    select
        fiscal_year,
        stage,
        element_order,
        max(value) filter (where quarter = 0) as value,
        max(numerator) filter (where quarter = 0) as numerator,
        max(denominator) filter (where quarter = 0) as denominator,
        max(value) filter (where quarter = 1) as q1_value,
        max(value) filter (where quarter = 2) as q2_value,
        max(value) filter (where quarter = 3) as q3_value,
        max(value) filter (where quarter = 4) as q4_value
    from valued
    group by all
),

final as (
    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        reporting_periods.stage_kind,
        reporting_periods.period_start,
        reporting_periods.period_end,
        elements.element_order,
        elements.element,
        elements.definition,
        elements.unit,
        pivoted.value,
        case when elements.unit = 'percent' then pivoted.numerator end as numerator,
        case when elements.unit = 'percent' then pivoted.denominator end as denominator,
        -- quarters after the stage have no month joined: blank, never 0
        pivoted.q1_value,
        pivoted.q2_value,
        pivoted.q3_value,
        pivoted.q4_value,
        case
            when elements.unit = 'percent' and pivoted.denominator > 0
                then format(
                    '{:,} of {:,} surveyed', pivoted.numerator, pivoted.denominator
                )
            when elements.unit = 'percent'
                then 'no valid survey response'
        end as basis,
        fingerprint.fingerprint as rules_fingerprint
    from reporting_periods
    cross join elements
    cross join fingerprint
    left join pivoted
        on
            reporting_periods.fiscal_year = pivoted.fiscal_year
            and reporting_periods.stage = pivoted.stage
            and elements.element_order = pivoted.element_order
)

select * from final
