with

source as (
    select * from {{ source('raw', 'load_log') }}
),

final as (
    select
        -- ids
        load_id,
        -- strings
        kind,
        file_name,
        sha256,
        encoding,
        extra_columns,
        archive_path,
        -- numerics
        rows,
        -- dates
        loaded_at,
        first_date,
        last_date
    from source
)

select * from final
