-- rules.md: every contact ends in exactly one outcome, so for each channel and period contacts
-- seen = counted + abandoned + each exclusion reason. One row per fiscal year, stage and channel.
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

reporting_periods as (
    select * from {{ ref('int_reporting__periods') }}
),

contacts as (
    select
        'calls' as channel,
        local_date,
        outcome
    from calls
    union all
    select
        'chats' as channel,
        local_date,
        outcome
    from chats
    union all
    select
        'emails' as channel,
        local_date,
        outcome
    from emails
    union all
    select
        'texts' as channel,
        local_date,
        outcome
    from texts
),

channels as (
    select unnest(['calls', 'chats', 'emails', 'texts']) as channel
),

tallied as (
    select
        reporting_periods.fiscal_year,
        reporting_periods.stage,
        channels.channel,
        count(contacts.outcome) as seen,
        count(*) filter (where contacts.outcome = 'counted') as counted,
        count(*) filter (where contacts.outcome = 'abandoned') as abandoned,
        count(*) filter (where contacts.outcome = 'short_abandon') as short_abandon,
        count(*) filter (where contacts.outcome = 'not_offered') as not_offered,
        count(*) filter (where contacts.outcome = 'test') as test,
        count(*) filter (where contacts.outcome = 'spam') as spam,
        count(*) filter (where contacts.outcome = 'auto_dialer') as auto_dialer,
        count(*) filter (where contacts.outcome = 'static') as static
    from reporting_periods
    cross join channels
    left join contacts
        on
            channels.channel = contacts.channel
            and contacts.local_date between reporting_periods.period_start
            and reporting_periods.period_end
    group by all
),

final as (
    select
        *,
        seen = counted + abandoned + short_abandon + not_offered + test + spam
        + auto_dialer + static as balance_ok
    from tallied
)

select * from final
