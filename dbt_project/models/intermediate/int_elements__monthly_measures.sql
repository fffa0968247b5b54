-- The exact components of the ten elements for every month of every fiscal year with data:
-- counted and abandoned contacts per channel (rules.md outcomes), website sessions after the
-- hostname filter, survey numerator (very satisfied + satisfied) and denominator (plus not
-- satisfied), and ministry-funded amounts in decimal. Only months and elements with data.
-- Element numbers and names come from the service_data_elements seed, joined by element_key.
with

calls as (
    select * from {{ ref('int_calls__outcomes') }}
),

chats as (
    select * from {{ ref('int_chats__outcomes') }}
),

emails as (
    select * from {{ ref('int_emails__outcomes') }}
),

texts as (
    select * from {{ ref('int_texts__outcomes') }}
),

web as (
    select * from {{ ref('int_web__sessions') }}
),

surveys as (
    select * from {{ ref('int_surveys__normalised') }}
),

ledger as (
    select * from {{ ref('int_finance__ledger') }}
),

elements as (
    select * from {{ ref('service_data_elements') }}
),

measures as (
    select
        local_date,
        'calls' as element_key,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from calls
    union all
    select
        local_date,
        'chats' as element_key,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from chats
    union all
    select
        local_date,
        'emails' as element_key,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from emails
    union all
    select
        local_date,
        'texts' as element_key,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from texts
    union all
    select
        local_date,
        'website_sessions' as element_key,
        case when is_counted_hostname then sessions else 0 end as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from web
    union all
    select
        surveys.local_date,
        elements.element_key,
        cast(null as bigint) as count_value,
        cast(surveys.answer_normalised in ('very satisfied', 'satisfied') as bigint) as numerator,
        cast(
            surveys.answer_normalised in ('very satisfied', 'satisfied', 'not satisfied')
            as bigint
        ) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from surveys
    -- each satisfaction element names the survey channel it reports (phone, chat)
    inner join elements
        on surveys.channel_reported = elements.survey_channel
    union all
    select
        local_date,
        'calls_abandoned' as element_key,
        cast(outcome = 'abandoned' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from calls
    union all
    select
        local_date,
        'chats_abandoned' as element_key,
        cast(outcome = 'abandoned' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from chats
    union all
    select
        local_date,
        'ministry_funded_expenditures' as element_key,
        cast(null as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        case when ministry_funded then amount else 0 end as exact_amount
    from ledger
),

by_month as (
    select
        {{ fiscal_year('measures.local_date') }} as fiscal_year,
        cast(date_trunc('month', measures.local_date) as date) as month_start,
        elements.element_order,
        sum(measures.count_value) as count_value,
        sum(measures.numerator) as numerator,
        sum(measures.denominator) as denominator,
        sum(measures.exact_amount) as exact_amount
    from measures
    -- the element numbers live in the seed; each measure above names its element by key
    inner join elements
        on measures.element_key = elements.element_key
    group by all
),

final as (
    select * from by_month
)

select * from final
