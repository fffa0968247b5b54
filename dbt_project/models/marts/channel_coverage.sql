-- The first and last local day with data for each channel ("data complete through" on the
-- report's cover): the five contact channels, survey responses, and finance months (a month
-- loaded covers through its last day).
with

daily as (
    select * from {{ ref('int_contacts__daily') }}
),

surveys as (
    select * from {{ ref('stg_raw__surveys') }}
),

ledger as (
    select * from {{ ref('stg_raw__finance') }}
),

coverage as (
    select
        channel,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as days_with_data
    from daily
    group by channel
    union all
    select
        'surveys' as channel,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(distinct local_date) as days_with_data
    from surveys
    having count(*) > 0
    union all
    select
        'finance' as channel,
        min(month_start) as first_date,
        cast(max(month_start) + interval 1 month - interval 1 day as date) as last_date,
        count(distinct month_start) as days_with_data
    from ledger
    having count(*) > 0
),

final as (
    select * from coverage
)

select * from final
