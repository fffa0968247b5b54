-- rules.md "Completeness": each day of a fiscal year with data, up to the last day loaded in any
-- channel, on which a channel (calls, chats, emails, texts, web) has no contact at all.
with

daily as (
    select * from {{ ref('int_contacts__daily') }}
),

reporting_periods as (
    select * from {{ ref('int_reporting__periods') }}
),

channels as (
    select unnest(['calls', 'chats', 'emails', 'texts', 'web']) as channel
),

last_loaded as (
    select max(local_date) as last_loaded_date
    from daily
),

fiscal_years as (
    select distinct
        reporting_periods.fiscal_year,
        reporting_periods.period_start as fiscal_year_start,
        least(
            cast(reporting_periods.period_start + interval 12 month - interval 1 day as date),
            last_loaded.last_loaded_date
        ) as last_expected_date
    from reporting_periods
    cross join last_loaded
),

expected_days as (
    select
        fiscal_years.fiscal_year,
        channels.channel,
        cast(day_series.expected_date as date) as expected_date
    from fiscal_years
    cross join channels
    cross join
        lateral (
            select unnest(generate_series(
                fiscal_years.fiscal_year_start,
                fiscal_years.last_expected_date,
                interval 1 day
            )) as expected_date
        ) as day_series
    where fiscal_years.last_expected_date >= fiscal_years.fiscal_year_start
),

final as (
    select
        expected_days.fiscal_year,
        expected_days.channel,
        expected_days.expected_date as missing_date
    from expected_days
    left join daily
        on
            expected_days.channel = daily.channel
            and expected_days.expected_date = daily.local_date
    where daily.local_date is null
)

select * from final
