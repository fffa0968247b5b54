-- extracts.md "calls": the later-loaded file wins for a record key, (contact_id, segment_id) or
-- (contact_id, started_at) without segment_id; inside one file the last row wins.
with

source as (
    select * from {{ source('raw', 'calls') }}
),

keyed as (
    select
        *,
        nullif(trim(segment_id), '') as segment_key
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by
                trim(contact_id),
                segment_key,
                case when segment_key is null then started_at end
            order by _load_id desc, _source_row desc
        ) as load_rank
    from keyed
),

final as (
    select
        -- ids
        trim(contact_id) as contact_id,
        segment_key as segment_id,
        caller_hash,
        -- strings
        trim(queue) as queue,
        {{ normalised_code('disposition') }} as disposition_code,
        {{ normalised_code('language') }} as language,
        -- timestamps
        started_at,
        queued_at,
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
