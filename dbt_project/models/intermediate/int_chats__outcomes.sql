-- rules.md "Chats: outcome, first match wins": test (category test) -> spam (spam_flag, or
-- category spam; auto_dialer and static categories on a chat count as spam) -> abandoned (no
-- answered_at) -> counted.
with

chats as (
    select * from {{ ref('stg_raw__chats') }}
),

disposition_categories as (
    select * from {{ ref('disposition_categories') }}
),

categorised as (
    select
        chats.*,
        coalesce(disposition_categories.category, 'service') as disposition_category,
        (
            chats.disposition_code is not null
            and disposition_categories.category is null
        ) as is_unmapped
    from chats
    left join disposition_categories
        on chats.disposition_code = lower(trim(disposition_categories.code))
),

flagged as (
    select
        *,
        disposition_category = 'test' as is_test,
        (
            spam_flag
            or disposition_category in ('spam', 'auto_dialer', 'static')
        ) as is_spam,
        answered_at is null as is_abandoned,
        answered_at is not null as is_answered
    from categorised
),

final as (
    select
        *,
        case
            when is_test then 'test'
            when is_spam then 'spam'
            when is_abandoned then 'abandoned'
            else 'counted'
        end as outcome
    from flagged
)

select * from final
