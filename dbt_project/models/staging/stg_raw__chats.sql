-- extracts.md "chats": record key contact_id; the later-loaded file wins, and inside one file the
-- last row wins.
with

source as (
    select * from {{ source('raw', 'chats') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by trim(contact_id)
            order by _load_id desc, _source_row desc
        ) as load_rank
    from source
),

final as (
    select
        -- ids
        trim(contact_id) as contact_id,
        visitor_hash,
        -- strings and flags
        {{ normalised_code('disposition') }} as disposition_code,
        {{ normalised_code('language') }} as language,
        spam_flag,
        -- timestamps
        started_at,
        answered_at,
        ended_at,
        {{ local_date('started_at') }} as local_date,
        -- lineage
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row
    from ranked
    where load_rank = 1
)

select * from final
