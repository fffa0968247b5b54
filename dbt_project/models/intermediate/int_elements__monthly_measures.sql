-- The exact components of the ten elements for every month of every fiscal year with data:
-- counted and abandoned contacts per channel (rules.md outcomes), website sessions after the
-- hostname filter, survey numerator (very satisfied + satisfied) and denominator (plus not
-- satisfied), and ministry-funded amounts in decimal. Only months and elements with data.
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

measures as (
    select
        local_date,
        1 as element_order,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from calls
    union all
    select
        local_date,
        2 as element_order,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from chats
    union all
    select
        local_date,
        3 as element_order,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from emails
    union all
    select
        local_date,
        4 as element_order,
        cast(outcome = 'counted' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from texts
    union all
    select
        local_date,
        5 as element_order,
        case when is_counted_hostname then sessions else 0 end as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from web
    union all
    select
        local_date,
        case channel_reported when 'phone' then 6 else 7 end as element_order,
        cast(null as bigint) as count_value,
        cast(answer_normalised in ('very satisfied', 'satisfied') as bigint) as numerator,
        cast(
            answer_normalised in ('very satisfied', 'satisfied', 'not satisfied') as bigint
        ) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from surveys
    where channel_reported in ('phone', 'chat')
    union all
    select
        local_date,
        8 as element_order,
        cast(outcome = 'abandoned' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from calls
    union all
    select
        local_date,
        9 as element_order,
        cast(outcome = 'abandoned' as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        cast(null as decimal(38, 4)) as exact_amount
    from chats
    union all
    select
        local_date,
        10 as element_order,
        cast(null as bigint) as count_value,
        cast(null as bigint) as numerator,
        cast(null as bigint) as denominator,
        case when ministry_funded then amount else 0 end as exact_amount
    from ledger
),

by_month as (
    select
        {{ fiscal_year('local_date') }} as fiscal_year,
        cast(date_trunc('month', local_date) as date) as month_start,
        element_order,
        sum(count_value) as count_value,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(exact_amount) as exact_amount
    from measures
    group by all
),

final as (
    select * from by_month
)

select * from final
