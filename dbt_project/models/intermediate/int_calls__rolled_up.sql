-- rules.md "From segments to calls" and "Caller identity": one call per contact_id however many
-- transfers it had; a withheld caller is its own caller on every call, never grouped.
with

segments as (
    select * from {{ ref('stg_raw__calls') }}
),

disposition_categories as (
    select * from {{ ref('disposition_categories') }}
),

categorised as (
    select
        segments.*,
        disposition_categories.category as mapped_category,
        coalesce(disposition_categories.category, 'service') as category,
        (
            segments.disposition_code is not null
            and disposition_categories.category is null
        ) as is_unmapped,
        -- rules.md precedence: test > spam > auto_dialer > static > service
        case coalesce(disposition_categories.category, 'service')
            when 'test' then 1
            when 'spam' then 2
            when 'auto_dialer' then 3
            when 'static' then 4
            else 5
        end as category_precedence
    from segments
    left join disposition_categories
        on segments.disposition_code = lower(trim(disposition_categories.code))
),

rolled_up as (
    select
        contact_id,
        count(*) as segment_count,
        min(started_at) as started_at,
        min(queued_at) as queued_at,
        min(answered_at) as answered_at,
        max(ended_at) as ended_at,
        first(caller_hash order by started_at, segment_id) filter (
            where caller_hash is not null
        ) as caller_hash,
        first(queue order by started_at, segment_id) as queue,
        min(category_precedence) as category_precedence,
        coalesce(
            list_sort(list_distinct(list(disposition_code) filter (where is_unmapped))),
            cast([] as varchar[])
        ) as unmapped_dispositions
    from categorised
    group by contact_id
),

final as (
    select
        -- ids
        contact_id,
        coalesce(caller_hash, 'withheld:' || contact_id) as caller_key,
        caller_hash,
        caller_hash is null as caller_withheld,
        -- strings
        queue,
        case category_precedence
            when 1 then 'test'
            when 2 then 'spam'
            when 3 then 'auto_dialer'
            when 4 then 'static'
            else 'service'
        end as disposition_category,
        unmapped_dispositions,
        -- numerics
        segment_count,
        case
            when answered_at is null then 0
            else epoch(ended_at) - epoch(answered_at)
        end as talk_seconds,
        -- timestamps
        started_at,
        queued_at,
        answered_at,
        ended_at,
        {{ local_date('started_at') }} as local_date
    from rolled_up
)

select * from final
