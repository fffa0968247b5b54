-- Every finance line of every accepted upload, kept to report which months were revised by
-- which uploads (stg_raw__finance holds only the lines in force).
with

source as (
    select * from {{ source('raw', 'finance') }}
),

final as (
    select
        -- dates
        cast(date_trunc('month', period) as date) as month_start,
        -- strings
        trim(account) as account,
        trim(funding_source) as funding_source,
        -- numerics
        amount,
        -- lineage
        _load_id as load_id,
        _source_file as source_file,
        _source_row as source_row
    from source
)

select * from final
