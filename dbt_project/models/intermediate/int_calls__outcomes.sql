-- rules.md "Calls: outcome, first match wins". Every step is a flag of its own, so a reader can
-- see every rule a call matched; the outcome is the first step that matched.
-- Incremental: a call's outcome depends on its rolled-up row, its burst row, whether its caller
-- is blocklisted and the rule vars. A build after new loads works again the calls from those
-- loads, every call whose stored burst or blocklist flags no longer match (a new call can put
-- a caller's older calls in a burst, or take them out; the blocklist is replaced at each
-- ingest), and every call when the rules changed.
{{ config(
    materialized='incremental',
    unique_key='contact_id',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
with

calls as (
    select * from {{ ref('int_calls__rolled_up') }}
    {% if is_incremental() %}
    where
        load_id > {{ loads_worked_up_to() }}
        or {{ rules_changed_since_stored('rules_in_force') }}
        or contact_id in (
            select stored.contact_id
            from {{ this }} as stored
            left join {{ ref('int_calls__autodialer_bursts') }} as current_bursts
                on stored.contact_id = current_bursts.contact_id
            left join {{ ref('stg_raw__blocklist') }} as current_blocklist
                on stored.caller_hash = current_blocklist.number_hash
            where
                stored.in_burst is distinct from coalesce(current_bursts.in_burst, false)
                or stored.burst_anchor_contact_id
                is distinct from current_bursts.burst_anchor_contact_id
                or stored.is_blocklisted
                is distinct from (current_blocklist.number_hash is not null)
        )
    {% endif %}
),

bursts as (
    select * from {{ ref('int_calls__autodialer_bursts') }}
),

blocklist as (
    select * from {{ ref('stg_raw__blocklist') }}
),

flagged as (
    select
        calls.*,
        coalesce(bursts.in_burst, false) as in_burst,
        bursts.burst_anchor_contact_id,
        blocklist.number_hash is not null as is_blocklisted,
        -- 1. test queue (case-insensitive "contains") or test category
        (
            strpos(lower(calls.queue), lower('{{ var("test_queue_pattern") }}')) > 0
            or calls.disposition_category = 'test'
        ) as is_test,
        -- 2. spam category or a blocklisted caller
        (
            calls.disposition_category = 'spam'
            or blocklist.number_hash is not null
        ) as is_spam,
        -- 3. auto-dialer category or in a burst
        (
            calls.disposition_category = 'auto_dialer'
            or coalesce(bursts.in_burst, false)
        ) as is_auto_dialer,
        -- 4. static category
        calls.disposition_category = 'static' as is_static,
        -- 5. never queued and never answered: left in the IVR
        (calls.queued_at is null and calls.answered_at is null) as is_not_offered,
        -- 6. queued, unanswered and gone within short_abandon_seconds (0 switches it off)
        (
            {{ var('short_abandon_seconds') }} > 0
            and calls.queued_at is not null
            and calls.answered_at is null
            and epoch(calls.ended_at) - epoch(calls.queued_at)
            < {{ var('short_abandon_seconds') }}
        ) as is_short_abandon,
        -- 7. queued, not answered
        (calls.queued_at is not null and calls.answered_at is null) as is_abandoned,
        -- 8. answered
        calls.answered_at is not null as is_answered
    from calls
    left join bursts
        on calls.contact_id = bursts.contact_id
    left join blocklist
        on calls.caller_hash = blocklist.number_hash
),

final as (
    select
        *,
        case
            when is_test then 'test'
            when is_spam then 'spam'
            when is_auto_dialer then 'auto_dialer'
            when is_static then 'static'
            when is_not_offered then 'not_offered'
            when is_short_abandon then 'short_abandon'
            when is_abandoned then 'abandoned'
            when is_answered then 'counted'
        end as outcome
    from flagged
)

select * from final
