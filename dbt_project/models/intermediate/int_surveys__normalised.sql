-- rules.md "Client satisfaction": channel and answer compared trimmed, case- and
-- accent-insensitive against the survey_channels and survey_answers seeds. A channel not listed
-- is kept but not reported; an answer not listed (blank, N/A, a number) is invalid.
with

surveys as (
    select * from {{ ref('stg_raw__surveys') }}
),

survey_channels as (
    select * from {{ ref('survey_channels') }}
),

survey_answers as (
    select * from {{ ref('survey_answers') }}
),

compared as (
    select
        *,
        lower(strip_accents(trim(coalesce(channel, '')))) as channel_compared,
        lower(strip_accents(trim(coalesce(answer, '')))) as answer_compared
    from surveys
),

final as (
    select
        compared.response_id,
        compared.contact_id,
        compared.channel,
        compared.channel_compared,
        survey_channels.channel_reported,
        compared.answer,
        compared.answer_compared,
        coalesce(survey_answers.answer_normalised, 'invalid') as answer_normalised,
        compared.submitted_at,
        compared.local_date
    from compared
    left join survey_channels
        on compared.channel_compared = lower(strip_accents(trim(survey_channels.channel)))
    left join survey_answers
        on compared.answer_compared = lower(strip_accents(trim(survey_answers.answer)))
)

select * from final
