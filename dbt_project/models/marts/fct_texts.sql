-- One row per text with its calendar, its rule flags and its single outcome (rules.md).
with

outcomes as (
    select * from {{ ref('int_texts__outcomes') }}
),

final as (
    select
        -- ids
        contact_id,
        sender_hash,
        -- calendar
        local_date,
        {{ fiscal_columns('local_date') }},
        -- strings
        disposition_code,
        disposition_category,
        -- timestamps
        started_at,
        -- rule flags
        spam_flag,
        is_unmapped,
        is_blocklisted,
        is_test,
        is_spam,
        outcome
    from outcomes
)

select * from final
