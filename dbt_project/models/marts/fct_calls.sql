-- One row per call with its calendar, its rule flags and its single outcome (rules.md).
with

outcomes as (
    select * from {{ ref('int_calls__outcomes') }}
),

final as (
    select
        -- ids
        contact_id,
        caller_key,
        burst_anchor_contact_id,
        -- calendar
        local_date,
        {{ fiscal_columns('local_date') }},
        -- strings
        queue,
        disposition_category,
        unmapped_dispositions,
        -- numerics
        segment_count,
        talk_seconds,
        -- timestamps
        started_at,
        queued_at,
        answered_at,
        ended_at,
        -- rule flags
        caller_withheld,
        is_test,
        is_spam,
        is_blocklisted,
        is_auto_dialer,
        in_burst,
        is_static,
        is_not_offered,
        is_short_abandon,
        is_abandoned,
        is_answered,
        outcome
    from outcomes
)

select * from final
