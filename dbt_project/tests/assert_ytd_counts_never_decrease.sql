-- Year-to-date counts can only grow through the year: for every count element, Q2 <= Q3 <=
-- final (and Q1 <= Q2 when Q1 is on). A row returned is a later stage with a smaller count.
{# dagster-dbt shows this test as a check of service_data_schedule (it reads meta.dagster.ref) #}
{{ config(meta={'dagster': {'ref': {'name': 'service_data_schedule'}}}) }}
with

schedule as (
    select * from {{ ref('service_data_schedule') }}
),

stages as (
    select * from {{ ref('reporting_stages') }}
),

counts as (
    select
        schedule.fiscal_year,
        schedule.element,
        schedule.stage,
        stages.end_fiscal_month,
        schedule.value
    from schedule
    inner join stages
        on schedule.stage = stages.stage
    where schedule.unit = 'count'
),

compared as (
    select
        *,
        lag(value) over (
            partition by fiscal_year, element
            order by end_fiscal_month
        ) as earlier_stage_value
    from counts
),

final as (
    select *
    from compared
    where value < earlier_stage_value
)

select * from final
