-- rules.md "Calls: outcome" step 2: the staff-maintained blocklist, hashed like callers.
with

source as (
    select * from {{ source('raw', 'blocklist') }}
),

final as (
    select distinct number_hash
    from source
    where number_hash is not null
)

select * from final
