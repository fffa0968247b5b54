-- extracts.md "calls": the later-loaded file wins for a record key, (contact_id, segment_id) or
-- (contact_id, started_at) without segment_id; inside one file the last row wins.
-- Incremental: a build after new loads works again every row of each contact those loads touch
-- (the record key holds the contact, so its winner depends on that contact's rows alone), and
-- every contact when the report timezone changed the local dates stored.
{{ config(
    materialized='incremental',
    unique_key='contact_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
with

source as (
    select * from {{ source('raw', 'calls') }}
    {% if is_incremental() %}
    where
        trim(contact_id) in (
            select trim(newer.contact_id) as contact_id
            from {{ source('raw', 'calls') }} as newer
            where newer._load_id > {{ loads_worked_up_to() }}
        )
        or exists (
            select 1 as timezone_changed
            from {{ this }} as stored
            where stored.local_date <> {{ local_date('stored.started_at') }}
        )
    {% endif %}
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
