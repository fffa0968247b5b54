-- extracts.md "surveys": record key response_id; the later-loaded file wins, and inside one file
-- the last row wins.
with

source as (
    select * from {{ source('raw', 'surveys') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by trim(response_id)
            order by _load_id desc, _source_row desc
        ) as load_rank
    from source
),

final as (
    select
        -- ids
        trim(response_id) as response_id,
        trim(contact_id) as contact_id,
        -- strings, as delivered: rules.md normalises them in int_surveys__normalised
        channel,
        answer,
        -- timestamps
        submitted_at,
        {{ local_date('submitted_at') }} as local_date,
        -- lineage
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row
    from ranked
    where load_rank = 1
)

select * from final
