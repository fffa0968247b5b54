-- rules.md "Emails and texts", first match wins: test (category test) ->
-- spam (spam_flag, category spam or auto_dialer) -> counted.
-- One conversation counts once (staging keeps one row per contact_id).
with

emails as (
    select * from {{ ref('stg_raw__emails') }}
),

disposition_categories as (
    select * from {{ ref('disposition_categories') }}
),

categorised as (
    select
        emails.*,
        coalesce(disposition_categories.category, 'service') as disposition_category,
        (
            emails.disposition_code is not null
            and disposition_categories.category is null
        ) as is_unmapped
    from emails
    left join disposition_categories
        on emails.disposition_code = lower(trim(disposition_categories.code))
),

flagged as (
    select
        categorised.*,
        categorised.disposition_category = 'test' as is_test,
        (
            categorised.spam_flag
            or categorised.disposition_category in ('spam', 'auto_dialer')
        ) as is_spam
    from categorised
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
