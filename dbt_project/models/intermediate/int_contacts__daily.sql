-- Contacts seen per channel and local day, whatever their outcome (rules.md "Completeness": a
-- channel with no contact at all on a day is a probable missing extract). Web counts a day as
-- present when the analytics export has any row for it.
with

calls as (
    select * from {{ ref('int_calls__rolled_up') }}
),

chats as (
    select * from {{ ref('stg_raw__chats') }}
),

emails as (
    select * from {{ ref('stg_raw__emails') }}
),

texts as (
    select * from {{ ref('stg_raw__texts') }}
),

web as (
    select * from {{ ref('stg_raw__web') }}
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
    union all
    select
        'web' as channel,
        local_date
    from web
),

final as (
    select
        channel,
        local_date,
        count(*) as contacts
    from contacts
    group by all
)

select * from final
