-- rules.md "Ministry-funded expenditures": funding_source (trimmed, case-insensitive) mapped by
-- the funding_sources seed; lines after revisions (staging keeps only the latest upload of each
-- month), negative lines included, amounts kept in decimal.
with

ledger as (
    select * from {{ ref('stg_raw__finance') }}
),

funding_sources as (
    select * from {{ ref('funding_sources') }}
),

final as (
    select
        ledger.month_start,
        ledger.local_date,
        ledger.account,
        ledger.funding_source,
        funding_sources.funding_source is not null as is_mapped_funding_source,
        coalesce(funding_sources.ministry_funded, false) as ministry_funded,
        ledger.amount,
        ledger.load_id,
        ledger.source_file,
        ledger.source_row
    from ledger
    left join funding_sources
        on lower(ledger.funding_source) = lower(trim(funding_sources.funding_source))
)

select * from final
