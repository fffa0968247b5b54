-- rules.md "Website sessions": when hostname is present only hostnames in web_hostnames count
-- (compared trimmed and lower-cased); a blank hostname counts; other hostnames are summed in the
-- data-quality notes.
with

web as (
    select * from {{ ref('stg_raw__web') }}
),

web_hostnames as (
    select * from {{ ref('web_hostnames') }}
),

final as (
    select
        web.local_date,
        web.hostname,
        web.hostname_normalised,
        web.sessions,
        (
            web.hostname_normalised is null
            or web_hostnames.hostname is not null
        ) as is_counted_hostname
    from web
    left join web_hostnames
        on web.hostname_normalised = lower(trim(web_hostnames.hostname))
)

select * from final
