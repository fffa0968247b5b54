-- rules.md "Calls: outcome" step 3, auto-dialer bursts. A short call d (talk time under
-- autodialer_max_talk_seconds) from a non-withheld caller anchors a burst when that caller has at
-- least autodialer_min_calls short calls starting in [d.started_at, d.started_at + window);
-- every short call of that caller starting inside an anchored window is in a burst. All of a
-- caller's calls are looked at, whatever outcome another rule gives them.
-- Set-based: one windowed count per short call, then the latest anchor at or before each call.
-- (the int filter and max keep the template renderable by sqlfluff, whose var() is a stub)
{% set window_microseconds = [(var('autodialer_window_minutes') | int) * 60000000, 1] | max %}
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
        -- a range frame is inclusive at both ends; on microseconds (the timestamp resolution)
        -- one less than the window makes it the half-open [start, start + window)
        count(*) over (
            partition by caller_key
            order by epoch_us(started_at)
            range between current row and {{ window_microseconds - 1 }} following
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
        -- two anchors at the same instant: the greater contact_id, so every build names the same
        arg_max(contact_id, struct_pack(started_at := started_at, contact_id := contact_id))
        filter (where is_anchor) over (
            partition by caller_key
            order by started_at
            range between unbounded preceding and current row
        ) as latest_anchor_contact_id
    from anchored
),

in_window as (
    select
        *,
        coalesce(
            epoch_us(started_at)
            < epoch_us(latest_anchor_started_at) + {{ window_microseconds }},
            false
        ) as in_burst
    from latest_anchor
),

final as (
    select
        -- ids
        contact_id,
        caller_key,
        case when in_burst then latest_anchor_contact_id end as burst_anchor_contact_id,
        -- timestamps
        started_at,
        -- numerics
        short_calls_in_window,
        -- flags
        is_anchor,
        in_burst
    from in_window
)

select * from final
