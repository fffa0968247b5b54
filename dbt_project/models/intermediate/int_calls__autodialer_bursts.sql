-- rules.md "Calls: outcome" step 3, auto-dialer bursts. A short call d (talk time under
-- autodialer_max_talk_seconds) from a non-withheld caller anchors a burst when that caller has at
-- least autodialer_min_calls short calls starting in [d.started_at, d.started_at + window);
-- every short call of that caller starting inside an anchored window is in a burst. All of a
-- caller's calls are looked at, whatever outcome another rule gives them.
-- Set-based: one windowed count per short call, then the latest anchor at or before each call.
{% set window_microseconds = var('autodialer_window_minutes') * 60 * 1000000 %}
with

calls as (
    select * from {{ ref('int_calls__rolled_up') }}
),

short_calls as (
    select
        contact_id,
        caller_key,
        started_at
    from calls
    where
        not caller_withheld
        and talk_seconds < {{ var('autodialer_max_talk_seconds') }}
),

windowed as (
    select
        *,
        -- a range frame is inclusive at both ends; one microsecond (the timestamp resolution)
        -- less than the window makes it the half-open [start, start + window)
        count(*) over (
            partition by caller_key
            order by started_at
            range between current row
            and interval ({{ window_microseconds - 1 }}) microsecond following
        ) as short_calls_in_window
    from short_calls
),

anchored as (
    select
        *,
        short_calls_in_window >= {{ var('autodialer_min_calls') }} as is_anchor
    from windowed
),

latest_anchor as (
    select
        *,
        max(case when is_anchor then started_at end) over (
            partition by caller_key
            order by started_at
            range between unbounded preceding and current row
        ) as latest_anchor_started_at,
        arg_max(contact_id, started_at) filter (where is_anchor) over (
            partition by caller_key
            order by started_at
            range between unbounded preceding and current row
        ) as latest_anchor_contact_id
    from anchored
),

final as (
    select
        -- ids
        contact_id,
        caller_key,
        -- timestamps
        started_at,
        -- numerics
        short_calls_in_window,
        -- flags
        is_anchor,
        coalesce(
            started_at < latest_anchor_started_at
            + interval ({{ window_microseconds }}) microsecond,
            false
        ) as in_burst,
        case
            when started_at < latest_anchor_started_at
                + interval ({{ window_microseconds }}) microsecond
                then latest_anchor_contact_id
        end as burst_anchor_contact_id
    from latest_anchor
)

select * from final
