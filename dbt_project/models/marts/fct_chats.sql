-- One row per chat with its calendar, its rule flags and its single outcome (rules.md).
with

outcomes as (
    select * from {{ ref('int_chats__outcomes') }}
),

final as (
    select
        -- ids
        contact_id,
        visitor_hash,
        -- calendar
        local_date,
        {{ fiscal_columns('local_date') }},
        -- strings
        disposition_code,
        disposition_category,
        language,
        -- timestamps
        started_at,
        answered_at,
        ended_at,
        -- rule flags
        spam_flag,
        is_unmapped,
        is_test,
        is_spam,
        is_abandoned,
        is_answered,
        outcome
    from outcomes
)

select * from final
