-- extracts.md "finance": the latest accepted upload that contains a month replaces every
-- earlier line of that month. Lines have no key: every line of that upload is kept.
with

source as (
    select * from {{ source('raw', 'finance') }}
),

latest_load_per_month as (
    select
        date_trunc('month', period) as month_start,
        max(_load_id) as latest_load_id
    from source
    group by date_trunc('month', period)
),

final as (
    select
        -- dates
        cast(date_trunc('month', source.period) as date) as month_start,
        cast(date_trunc('month', source.period) as date) as local_date,
        -- strings
        trim(source.account) as account,
        trim(source.funding_source) as funding_source,
        -- numerics: decimal, never float
        source.amount,
        -- lineage
        source._load_id as load_id,
        source._source_file as source_file,
        source._source_row as source_row
    from source
    inner join latest_load_per_month
        on
            date_trunc('month', source.period) = latest_load_per_month.month_start
            and source._load_id = latest_load_per_month.latest_load_id
)

select * from final
