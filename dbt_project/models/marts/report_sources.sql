-- Every loaded file that can feed the figures (report.md "Sources"), with the fiscal years its
-- dates cover.
with

load_log as (
    select * from {{ ref('stg_raw__load_log') }}
),

covered_years as (
    select
        load_log.load_id,
        string_agg(
            {{ fiscal_year_label('start_years.start_year') }},
            ', ' order by start_years.start_year
        ) as fiscal_years
    from load_log
    cross join
        lateral (
            select unnest(generate_series(
                {{ fiscal_start_year('load_log.first_date') }},
                {{ fiscal_start_year('load_log.last_date') }}
            )) as start_year
        ) as start_years
    where load_log.first_date is not null and load_log.last_date is not null
    group by load_log.load_id
),

final as (
    select
        load_log.*,
        covered_years.fiscal_years
    from load_log
    left join covered_years
        on load_log.load_id = covered_years.load_id
)

select * from final
