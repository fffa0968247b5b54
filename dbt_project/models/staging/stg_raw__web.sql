-- extracts.md "web": a corrected export for days already loaded replaces those days, so every
-- row of a day comes from the latest load that contains that day; inside that load the record
-- key (date, hostname) keeps its last row.
with

source as (
    select * from {{ source('raw', 'web') }}
),

latest_load_per_day as (
    select
        date,
        max(_load_id) as latest_load_id
    from source
    group by date
),

in_latest_load as (
    select source.*
    from source
    inner join latest_load_per_day
        on
            source.date = latest_load_per_day.date
            and source._load_id = latest_load_per_day.latest_load_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by date, hostname
            order by _source_row desc
        ) as row_rank
    from in_latest_load
),

final as (
    select
        -- dates
        date as local_date,
        -- strings
        hostname,
        nullif(lower(trim(hostname)), '') as hostname_normalised,
        -- numerics
        sessions,
        -- lineage
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row
    from ranked
    where row_rank = 1
)

select * from final
