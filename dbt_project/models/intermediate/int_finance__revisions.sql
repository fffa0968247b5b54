-- extracts.md "finance" revisions: a month loaded by more than one upload is replaced by the
-- latest; one row per revised month naming the upload in force and those it replaced, with the
-- ministry-funded total before (the previous upload of that month) and after.
with

history as (
    select * from {{ ref('stg_raw__finance_history') }}
),

funding_sources as (
    select * from {{ ref('funding_sources') }}
),

per_load as (
    select
        history.month_start,
        history.load_id,
        history.source_file,
        count(*) as lines,
        sum(
            case
                when coalesce(funding_sources.ministry_funded, false) then history.amount
                else 0
            end
        ) as ministry_funded_amount
    from history
    left join funding_sources
        on lower(history.funding_source) = lower(trim(funding_sources.funding_source))
    group by all
),

ranked as (
    select
        *,
        row_number() over (partition by month_start order by load_id desc) as load_rank,
        count(*) over (partition by month_start) as loads
    from per_load
),

final as (
    select
        month_start,
        max(load_id) filter (where load_rank = 1) as load_id_in_force,
        max(source_file) filter (where load_rank = 1) as source_file_in_force,
        string_agg(source_file, ', ' order by load_id) filter (where load_rank > 1)
            as replaced_source_files,
        sum(lines) filter (where load_rank > 1) as replaced_lines,
        max(ministry_funded_amount) filter (where load_rank = 2) as previous_ministry_funded_amount,
        max(ministry_funded_amount) filter (where load_rank = 1) as ministry_funded_amount
    from ranked
    where loads > 1
    group by month_start
)

select * from final
