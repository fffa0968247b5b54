-- rules.md "Calendar": every fiscal year with data crossed with every enabled reporting stage,
-- all year-to-date from 1 April to the stage's end.
with

measures as (
    select * from {{ ref('int_elements__monthly_measures') }}
),

stages as (
    select * from {{ ref('reporting_stages') }}
),

fiscal_years as (
    select distinct fiscal_year
    from measures
),

final as (
    select
        fiscal_years.fiscal_year,
        stages.stage,
        stages.stage_kind,
        stages.end_fiscal_month,
        {{ fiscal_year_start_of_label('fiscal_years.fiscal_year') }} as period_start,
        cast(
            {{ fiscal_year_start_of_label('fiscal_years.fiscal_year') }}
            + to_months(stages.end_fiscal_month)
            - interval 1 day as date
        ) as period_end
    from fiscal_years
    cross join stages
    where stages.enabled
)

select * from final
