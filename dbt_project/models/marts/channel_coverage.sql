-- The first and last local day with data for each contact channel ("data complete through" on
-- the report's cover).
with

daily as (
    select * from {{ ref('int_contacts__daily') }}
),

final as (
    select
        channel,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as days_with_data
    from daily
    group by channel
)

select * from final
