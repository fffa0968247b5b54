-- rules.md "Emails and texts", first match wins: test (category test) ->
-- spam (spam_flag, category spam or auto_dialer, or the sender on the blocklist) -> counted.
-- One conversation counts once (staging keeps one row per contact_id).
with

texts as (
    select * from {{ ref('stg_raw__texts') }}
),

disposition_categories as (
    select * from {{ ref('disposition_categories') }}
),

blocklist as (
    select * from {{ ref('stg_raw__blocklist') }}
),

categorised as (
    select
        texts.*,
        coalesce(disposition_categories.category, 'service') as disposition_category,
        (
            texts.disposition_code is not null
            and disposition_categories.category is null
        ) as is_unmapped
    from texts
    left join disposition_categories
        on texts.disposition_code = lower(trim(disposition_categories.code))
),

flagged as (
    select
        categorised.*,
        blocklist.number_hash is not null as is_blocklisted,
        categorised.disposition_category = 'test' as is_test,
        (
            categorised.spam_flag
            or categorised.disposition_category in ('spam', 'auto_dialer')
            or blocklist.number_hash is not null
        ) as is_spam
    from categorised
    left join blocklist
        on categorised.sender_hash = blocklist.number_hash
),

final as (
    select
        *,
        case
            when is_test then 'test'
            when is_spam then 'spam'
            else 'counted'
        end as outcome
    from flagged
)

select * from final
