-- rules.md: for each channel and period, contacts seen = counted + abandoned + each exclusion
-- reason. Checked per fiscal year, stage and channel from the facts themselves, independently
-- of outcome_audit's own flag: a row returned is a period that does not balance.
{# dagster-dbt shows this test as a check of outcome_audit (it reads meta.dagster.ref) #}
{{ config(meta={'dagster': {'ref': {'name': 'outcome_audit'}}}) }}
with

audit as (
    select * from {{ ref('outcome_audit') }}
),

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

contacts as (
    select
        'calls' as channel,
        local_date
    from calls
    union all
    select
        'chats' as channel,
        local_date
    from chats
    union all
    select
        'emails' as channel,
        local_date
    from emails
    union all
    select
        'texts' as channel,
        local_date
    from texts
),

periods as (
    select * from {{ ref('int_reporting__periods') }}
),

seen as (
    select
        periods.fiscal_year,
        periods.stage,
        contacts.channel,
        count(*) as contacts_seen
    from periods
    inner join contacts
        on contacts.local_date between periods.period_start and periods.period_end
    group by all
),

final as (
    select
        audit.fiscal_year,
        audit.stage,
        audit.channel,
        audit.seen,
        coalesce(seen.contacts_seen, 0) as contacts_seen
    from audit
    left join seen
        on
            audit.fiscal_year = seen.fiscal_year
            and audit.stage = seen.stage
            and audit.channel = seen.channel
    where
        audit.seen != coalesce(seen.contacts_seen, 0)
        or audit.seen != audit.counted + audit.abandoned + audit.short_abandon
        + audit.not_offered + audit.test + audit.spam + audit.auto_dialer + audit.static
)

select * from final
