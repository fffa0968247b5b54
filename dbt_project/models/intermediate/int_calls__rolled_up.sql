-- rules.md "From segments to calls" and "Caller identity": one call per contact_id however many
-- transfers it had; a withheld caller is its own caller on every call, never grouped.
-- Incremental: a build after new loads works again each contact with a segment from those loads
-- (a call depends on its own segments alone), and every call when a rule var or the disposition
-- seed changed; load_id and rules_in_force are stored for that and for int_calls__outcomes.
{{ config(
    materialized='incremental',
    unique_key='contact_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
{% set rules_in_force_sql %}
    select
        md5(
            {{ rules_vars_text() }}
            || coalesce(string_agg(code || '=' || category, ';' order by code, category), '')
        ) as fingerprint
    from {{ ref('disposition_categories') }}
{% endset %}
with

segments as (
    select * from {{ ref('stg_raw__calls') }}
    {% if is_incremental() %}
    where
        contact_id in (
            select newer.contact_id
            from {{ ref('stg_raw__calls') }} as newer
            where newer.load_id > {{ loads_worked_up_to() }}
        )
        or {{ rules_changed_since_stored(rules_in_force_sql) }}
    {% endif %}
),

disposition_categories as (
    select * from {{ ref('disposition_categories') }}
),

rules_in_force as (
    {{ rules_in_force_sql }}
),

categorised as (
    select
        segments.*,
        disposition_categories.category as mapped_category,
        coalesce(disposition_categories.category, 'service') as category,
        (
            segments.disposition_code is not null
            and disposition_categories.category is null
        ) as is_unmapped,
        -- rules.md precedence: test > spam > auto_dialer > static > service
        case coalesce(disposition_categories.category, 'service')
            when 'test' then 1
            when 'spam' then 2
            when 'auto_dialer' then 3
            when 'static' then 4
            else 5
        end as category_precedence
    from segments
    left join disposition_categories
        on segments.disposition_code = lower(trim(disposition_categories.code))
),

rolled_up as (
    select
        contact_id,
        count(*) as segment_count,
        min(started_at) as started_at,
        min(queued_at) as queued_at,
        min(answered_at) as answered_at,
        max(ended_at) as ended_at,
        first(caller_hash order by started_at, segment_id) filter (
            where caller_hash is not null
        ) as caller_hash,
        first(queue order by started_at, segment_id) as queue,
        min(category_precedence) as category_precedence,
        max(load_id) as load_id,
        coalesce(
            list_sort(list_distinct(list(disposition_code) filter (where is_unmapped))),
            cast([] as varchar[])
        ) as unmapped_dispositions
    from categorised
    group by contact_id
),

final as (
    select
        -- ids
        contact_id,
        coalesce(caller_hash, 'withheld:' || contact_id) as caller_key,
        caller_hash,
        caller_hash is null as caller_withheld,
        -- strings
        queue,
        case category_precedence
            when 1 then 'test'
            when 2 then 'spam'
            when 3 then 'auto_dialer'
            when 4 then 'static'
            else 'service'
        end as disposition_category,
        unmapped_dispositions,
        -- numerics
        segment_count,
        case
            when answered_at is null then 0
            else epoch(ended_at) - epoch(answered_at)
        end as talk_seconds,
        -- timestamps
        started_at,
        queued_at,
        answered_at,
        ended_at,
        {{ local_date('started_at') }} as local_date,
        -- lineage: the newest load among the call's segments, and the rules it was worked with
        load_id,
        (select rules_in_force.fingerprint from rules_in_force) as rules_in_force
    from rolled_up
)

select * from final
