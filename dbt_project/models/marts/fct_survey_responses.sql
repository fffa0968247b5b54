-- One row per survey response with its reported channel (phone, chat or null when the channel
-- is not reported) and its normalised answer (rules.md "Client satisfaction").
with

responses as (
    select * from {{ ref('int_surveys__normalised') }}
),

final as (
    select
        -- ids
        response_id,
        contact_id,
        -- calendar
        local_date,
        {{ fiscal_columns('local_date') }},
        -- strings
        channel,
        channel_reported,
        answer,
        answer_normalised,
        -- timestamps
        submitted_at
    from responses
)

select * from final
