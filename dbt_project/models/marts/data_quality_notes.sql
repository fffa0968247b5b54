-- The report's data-quality warnings (report.md "Notes"), year-to-date for each fiscal year and
-- stage: unmapped dispositions, invalid survey answers, excluded hostnames, days with no data,
-- revised finance months, and satisfaction elements with no valid response.
with

calls as (
    select * from {{ ref('fct_calls') }}
),

chats as (
    select * from {{ ref('fct_chats') }}
),

emails as (
    select * from {{ ref('fct_emails') }}
),

texts as (
    select * from {{ ref('fct_texts') }}
),

surveys as (
    select * from {{ ref('int_surveys__normalised') }}
),

web as (
    select * from {{ ref('int_web__sessions') }}
),

gaps as (
    select * from {{ ref('completeness_gaps') }}
),

revisions as (
    select * from {{ ref('int_finance__revisions') }}
),

schedule as (
    select * from {{ ref('service_data_schedule') }}
),

elements as (
    select * from {{ ref('service_data_elements') }}
),

reporting_periods as (
    select * from {{ ref('int_reporting__periods') }}
),

-- rules.md "Disposition categories": a code not in the seed counts as service and is listed
unmapped as (
    select
        'calls' as channel,
        calls.local_date,
        unmapped_code.code as item
    from calls
    cross join lateral (select unnest(calls.unmapped_dispositions) as code) as unmapped_code
    union all
    select
        'chats' as channel,
        local_date,
        disposition_code as item
    from chats
    where is_unmapped
    union all
    select
        'emails' as channel,
        local_date,
        disposition_code as item
    from emails
    where is_unmapped
    union all
    select
        'texts' as channel,
        local_date,
        disposition_code as item
    from texts
    where is_unmapped
),

notes as (
    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        'unmapped_disposition' as category,
        unmapped.channel,
        unmapped.item,
        count(*) as count,
        cast(null as decimal(38, 4)) as amount,
        'code not in the disposition_categories seed: counted as service' as detail
    from reporting_periods
    inner join unmapped
        on
            unmapped.local_date between reporting_periods.period_start
            and reporting_periods.period_end
    group by all

    union all

    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        'invalid_survey_answer' as category,
        coalesce(surveys.channel_reported, surveys.channel_compared) as channel,
        coalesce(nullif(trim(surveys.answer), ''), '(blank)') as item,
        count(*) as count,
        cast(null as decimal(38, 4)) as amount,
        'answer not in the survey_answers seed: left out of the satisfaction figure' as detail
    from reporting_periods
    inner join surveys
        on
            surveys.local_date between reporting_periods.period_start
            and reporting_periods.period_end
    where surveys.answer_normalised = 'invalid'
    group by all

    union all

    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        'excluded_hostname' as category,
        'web' as channel,
        web.hostname_normalised as item,
        sum(web.sessions) as count,
        cast(null as decimal(38, 4)) as amount,
        'sessions on a hostname not in the web_hostnames seed: not counted' as detail
    from reporting_periods
    inner join web
        on
            web.local_date between reporting_periods.period_start
            and reporting_periods.period_end
    where not web.is_counted_hostname
    group by all

    union all

    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        'missing_day' as category,
        gaps.channel,
        strftime(gaps.missing_date, '%Y-%m-%d') as item,
        cast(null as bigint) as count,
        cast(null as decimal(38, 4)) as amount,
        'no contact at all on this day: probable missing extract' as detail
    from reporting_periods
    inner join gaps
        on
            reporting_periods.fiscal_year = gaps.fiscal_year
            and reporting_periods.period_end >= gaps.missing_date

    union all

    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        'finance_revision' as category,
        'finance' as channel,
        strftime(revisions.month_start, '%Y-%m') as item,
        revisions.replaced_lines as count,
        revisions.ministry_funded_amount - revisions.previous_ministry_funded_amount as amount,
        revisions.source_file_in_force || ' replaces ' || revisions.replaced_source_files
        || ' (ministry-funded $'
        || format('{:,.2f}', revisions.previous_ministry_funded_amount)
        || ' -> $' || format('{:,.2f}', revisions.ministry_funded_amount) || ')' as detail
    from reporting_periods
    inner join revisions
        on
            revisions.month_start between reporting_periods.period_start
            and reporting_periods.period_end

    union all

    select
        schedule.fiscal_year,
        schedule.stage,
        'no_valid_survey' as category,
        elements.survey_channel as channel,
        schedule.element as item,
        0 as count,
        cast(null as decimal(38, 4)) as amount,
        'no valid survey response in the period: the value is left blank' as detail
    from schedule
    inner join elements
        on schedule.element_order = elements.element_order
    where schedule.unit = 'percent' and coalesce(schedule.denominator, 0) = 0
),

final as (
    select * from notes
)

select * from final
