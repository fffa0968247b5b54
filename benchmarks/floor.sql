-- The plain-DuckDB floor: the ten Service Data elements of one fiscal year, straight from the
-- extract CSVs, written from ../shared/spec/rules.md alone (never from the product's dbt SQL) so
-- that it is both the speed floor any pipeline could reach and an independent second reading of
-- the rules. benchmarks/floor.py fills the dollar-sign placeholders (file lists, fiscal year, stage ends) and
-- loads the finance uploads, which are read with openpyxl, into `finance_lines` beforehand.
-- Every read is all_varchar so that each column is parsed explicitly, as the spec defines it.

set TimeZone = 'America/Toronto';
-- Row order within a file comes from `with ordinality` at the scan; nothing later needs the
-- insertion order, and not keeping it lets DuckDB stream with less memory.
set preserve_insertion_order = false;

-- ------------------------------------------------------------------------------------------
-- Rule configuration: the defaults of rules.md
-- ------------------------------------------------------------------------------------------
-- Precedence of a call's categories over its segments: the order of the outcome list.
create temp table category_rank as
select * from (values
    ('test', 1), ('spam', 2), ('auto_dialer', 3), ('static', 4), ('service', 5)
) as ranks(category, precedence);

create temp table survey_channel_map as
select * from (values
    ('phone', 'phone'), ('telephone', 'phone'), ('call', 'phone'), ('voice', 'phone'),
    ('chat', 'chat'), ('webchat', 'chat'), ('web chat', 'chat'), ('live chat', 'chat')
) as mapping(spelling, channel);

create temp table survey_answer_map as
select * from (values
    ('very satisfied', 'very satisfied'), ('tres satisfait', 'very satisfied'),
    ('satisfied', 'satisfied'), ('satisfait', 'satisfied'),
    ('not satisfied', 'not satisfied'), ('dissatisfied', 'not satisfied'),
    ('unsatisfied', 'not satisfied'), ('insatisfait', 'not satisfied'),
    ('pas satisfait', 'not satisfied'), ('non satisfait', 'not satisfied')
) as mapping(spelling, answer);

create temp table web_hostnames as
select * from (values ('211ontario.ca'), ('www.211ontario.ca')) as hosts(hostname);

create temp table funding_map as
select * from (values
    ('mccss', true), ('mcss', true), ('ministry', true),
    ('ministry of children, community and social services', true),
    ('other', false), ('municipal', false), ('federal', false), ('united way', false),
    ('donations', false), ('fundraising', false)
) as mapping(funding_source, ministry_funded);

create temp table settings as
select
    $autodialer_max_talk_seconds::double as autodialer_max_talk_seconds,
    $autodialer_min_calls::bigint as autodialer_min_calls,
    $autodialer_window_minutes::bigint as autodialer_window_minutes,
    $short_abandon_seconds::double as short_abandon_seconds,
    '$test_queue_pattern' as test_queue_pattern;

create temp table stages as
select * from (values
    ('Q2', 'interim', date '$q2_end'),
    ('Q3', 'interim', date '$q3_end'),
    ('final', 'final', date '$final_end')
) as stage_list(stage, stage_kind, period_end);

-- ------------------------------------------------------------------------------------------
-- Shared helpers
-- ------------------------------------------------------------------------------------------
-- Caller identity (rules.md): digits only, an 11-digit number starting with 1 drops it;
-- withheld words, blanks and fewer than 7 digits give null (each withheld call its own caller).
create temp macro phone_digits(digits) as
    case
        when length(digits) = 11 and substr(digits, 1, 1) = '1' then substr(digits, 2)
        when length(digits) < 7 then null
        else digits
    end;

create temp macro phone_identity(number_text) as
    case
        when lower(trim(coalesce(number_text, '')))
            in ('', 'anonymous', 'restricted', 'private', 'unknown', 'unavailable') then null
        else phone_digits(regexp_replace(coalesce(number_text, ''), '[^0-9]', '', 'g'))
    end;

create temp macro as_instant(text_value) as
    case when trim(coalesce(text_value, '')) = '' then null
    else cast(trim(text_value) as timestamptz) end;

create temp macro local_day(instant) as cast(timezone('America/Toronto', instant) as date);

create temp macro as_flag(text_value) as
    lower(trim(coalesce(text_value, ''))) in ('true', 'yes', '1', 'y');

-- Disposition categories (rules.md defaults): wrap-up codes trimmed and case-insensitive;
-- everything else, blank included, is service.
create temp macro category_of(code) as
    case
        when lower(trim(coalesce(code, ''))) in ('test', 'test call') then 'test'
        when lower(trim(coalesce(code, ''))) in ('spam', 'prank', 'robocall', 'junk') then 'spam'
        when lower(trim(coalesce(code, ''))) in ('auto dialer', 'autodialer') then 'auto_dialer'
        when lower(trim(coalesce(code, ''))) in ('static', 'dead air', 'no response', 'silent')
            then 'static'
        else 'service'
    end;

create temp table blocklist as
select distinct phone_identity(number) as identity
from read_csv($blocklist_files, all_varchar = true, header = true)
where phone_identity(number) is not null;

-- ------------------------------------------------------------------------------------------
-- Calls: segments (later file wins per key), then one call per contact_id
-- ------------------------------------------------------------------------------------------
create temp table call_segments as
with read_rows as (
    select
        *,
        parse_filename(filename) as source_file
    from read_csv(
        $calls_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ','
    ) with ordinality
    union all by name
    select
        null::varchar as segment_id, null::varchar as queued_at, null::varchar as answered_at,
        null::varchar as caller_number, null::varchar as disposition
    where false
),
segment_rows as (
    select
        trim(contact_id) as contact_id,
        nullif(trim(coalesce(segment_id, '')), '') as segment_id,
        as_instant(started_at) as started_at,
        queued_at,
        answered_at,
        ended_at,
        caller_number,
        queue,
        disposition,
        source_file,
        ordinality
    from read_rows
    where contact_id is not null
),
latest as (
    select *
    from segment_rows
    qualify row_number() over (
        partition by contact_id, coalesce(segment_id, 'started:' || epoch_us(started_at)::varchar)
        order by source_file desc, ordinality desc
    ) = 1
)
-- Parsing after the later-file-wins pick: only the surviving version of a segment is parsed.
select
    contact_id,
    started_at,
    as_instant(queued_at) as queued_at,
    as_instant(answered_at) as answered_at,
    as_instant(ended_at) as ended_at,
    phone_identity(caller_number) as caller_identity,
    queue,
    category_of(disposition) as category
from latest;

create temp table calls as
with rolled as (
    select
        s.contact_id,
        min(s.started_at) as started_at,
        min(s.queued_at) as queued_at,
        min(s.answered_at) as answered_at,
        max(s.ended_at) as ended_at,
        arg_min(s.caller_identity, s.started_at) filter (where s.caller_identity is not null)
            as caller_identity,
        arg_min(s.queue, s.started_at) as queue,
        arg_min(s.category, r.precedence) as category
    from call_segments s
    join category_rank r on r.category = s.category
    group by s.contact_id
)
select
    *,
    local_day(started_at) as local_date,
    case when answered_at is null then 0
        else (epoch_us(ended_at) - epoch_us(answered_at)) / 1e6 end as talk_seconds
from rolled;

-- Auto-dialer bursts: a short call anchors a half-open window [start, start + window) holding at
-- least min_calls short calls of the same (non-withheld) caller; every short call starting inside
-- an anchored window is in a burst. All of the caller's calls take part, whatever their outcome.
create temp table short_calls as
select
    c.contact_id,
    c.caller_identity,
    epoch_us(c.started_at) as start_us,
    count(*) over (
        partition by c.caller_identity order by epoch_us(c.started_at)
        range between current row and ($window_us - 1) following
    ) >= s.autodialer_min_calls as is_anchor
from calls c, settings s
where c.caller_identity is not null and c.talk_seconds < s.autodialer_max_talk_seconds;

create temp table burst_calls as
select contact_id
from (
    select
        contact_id,
        max(case when is_anchor then start_us end) over (
            partition by caller_identity order by start_us
            range between ($window_us - 1) preceding and current row
        ) as anchor_start_us
    from short_calls
)
where anchor_start_us is not null;

create temp table call_outcomes as
select
    c.contact_id,
    c.local_date,
    case
        when c.queue ilike ('%' || s.test_queue_pattern || '%') or c.category = 'test' then 'test'
        when c.category = 'spam' or c.caller_identity in (select identity from blocklist)
            then 'spam'
        when c.category = 'auto_dialer' or b.contact_id is not null then 'auto_dialer'
        when c.category = 'static' then 'static'
        when c.queued_at is null and c.answered_at is null then 'not_offered'
        when c.answered_at is null
            and (epoch_us(c.ended_at) - epoch_us(c.queued_at)) / 1e6 < s.short_abandon_seconds
            then 'short_abandon'
        when c.answered_at is null then 'abandoned'
        else 'counted'
    end as outcome
from calls c
cross join settings s
left join burst_calls b on b.contact_id = c.contact_id;

-- ------------------------------------------------------------------------------------------
-- Chats, emails, texts: one row per contact_id, the later file winning
-- ------------------------------------------------------------------------------------------
create temp table chat_outcomes as
with read_rows as (
    select *, parse_filename(filename) as source_file
    from read_csv(
        $chats_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ','
    ) with ordinality
    union all by name
    select
        null::varchar as answered_at, null::varchar as spam_flag, null::varchar as disposition
    where false
),
latest as (
    select *
    from read_rows
    where contact_id is not null
    qualify row_number() over (
        partition by trim(contact_id) order by source_file desc, ordinality desc
    ) = 1
)
select
    trim(contact_id) as contact_id,
    local_day(as_instant(started_at)) as local_date,
    case
        when category_of(disposition) = 'test' then 'test'
        when as_flag(spam_flag) or category_of(disposition) in ('spam', 'auto_dialer', 'static')
            then 'spam'
        when as_instant(answered_at) is null then 'abandoned'
        else 'counted'
    end as outcome
from latest;

create temp table email_outcomes as
with read_rows as (
    select *, parse_filename(filename) as source_file
    from read_csv(
        $emails_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ','
    ) with ordinality
    union all by name
    select null::varchar as spam_flag, null::varchar as disposition
    where false
),
latest as (
    select *
    from read_rows
    where contact_id is not null
    qualify row_number() over (
        partition by trim(contact_id) order by source_file desc, ordinality desc
    ) = 1
)
select
    trim(contact_id) as contact_id,
    local_day(as_instant(received_at)) as local_date,
    case
        when category_of(disposition) = 'test' then 'test'
        when as_flag(spam_flag) or category_of(disposition) in ('spam', 'auto_dialer') then 'spam'
        else 'counted'
    end as outcome
from latest;

create temp table text_outcomes as
with read_rows as (
    select *, parse_filename(filename) as source_file
    from read_csv(
        $texts_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ','
    ) with ordinality
    union all by name
    select null::varchar as sender, null::varchar as spam_flag, null::varchar as disposition
    where false
),
latest as (
    select *
    from read_rows
    where contact_id is not null
    qualify row_number() over (
        partition by trim(contact_id) order by source_file desc, ordinality desc
    ) = 1
)
select
    trim(contact_id) as contact_id,
    local_day(as_instant(started_at)) as local_date,
    case
        when category_of(disposition) = 'test' then 'test'
        when as_flag(spam_flag) or category_of(disposition) in ('spam', 'auto_dialer')
            or phone_identity(sender) in (select identity from blocklist) then 'spam'
        else 'counted'
    end as outcome
from latest;

-- ------------------------------------------------------------------------------------------
-- Surveys: channel and answer normalised (trimmed, case- and accent-insensitive)
-- ------------------------------------------------------------------------------------------
create temp table survey_responses as
with read_rows as (
    select *, parse_filename(filename) as source_file
    from read_csv(
        $surveys_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ','
    ) with ordinality
),
latest as (
    select *
    from read_rows
    where response_id is not null
    qualify row_number() over (
        partition by trim(response_id) order by source_file desc, ordinality desc
    ) = 1
)
select
    local_day(as_instant(submitted_at)) as local_date,
    ch.channel,
    coalesce(an.answer, 'invalid') as answer
from latest l
left join survey_channel_map ch
    on ch.spelling = strip_accents(lower(trim(coalesce(l.channel, ''))))
left join survey_answer_map an
    on an.spelling = strip_accents(lower(trim(coalesce(l.answer, ''))));

-- ------------------------------------------------------------------------------------------
-- Web: a later file holding a day restates that whole day; blank hostname counts
-- ------------------------------------------------------------------------------------------
create temp table web_days as
with read_rows as (
    select *, parse_filename(filename) as source_file
    from read_csv(
        $web_files, all_varchar = true, header = true, union_by_name = true, filename = true, delim = ',',
        comment = '#', strict_mode = false
    ) with ordinality
    union all by name
    select null::varchar as hostname
    where false
),
parsed as (
    select
        case when regexp_matches(trim(date), '^[0-9]{8}$$')
            then strptime(trim(date), '%Y%m%d')::date
            else cast(trim(date) as date) end as day,
        lower(trim(coalesce(hostname, ''))) as hostname,
        cast(trim(sessions) as bigint) as sessions,
        source_file,
        ordinality
    from read_rows
    where date is not null
),
restated as (
    select *
    from parsed
    qualify source_file = max(source_file) over (partition by day)
),
latest as (
    select *
    from restated
    qualify row_number() over (partition by day, hostname order by ordinality desc) = 1
)
select day as local_date, sum(sessions) as sessions
from latest
where hostname = '' or hostname in (select hostname from web_hostnames)
group by day;

-- ------------------------------------------------------------------------------------------
-- Finance: the latest upload holding a month replaces every earlier line for it
-- ------------------------------------------------------------------------------------------
create temp table finance_months as
with parsed as (
    select
        date_trunc('month', cast(
            case when regexp_matches(trim(period_text), '^[0-9]{4}-[0-9]{1,2}$$')
                then trim(period_text) || '-01'
                else left(trim(period_text), 10) end
            as date))::date as month_start,
        lower(trim(funding_source)) as funding_source,
        -- Money text: `1,234.56`, a dollar sign, `-1234.56`, `(1,234.56)`; exact decimal.
        case when starts_with(trim(amount_text), '(') and ends_with(trim(amount_text), ')')
            then -1 else 1 end
            * cast(regexp_replace(amount_text, '[\s$$,()]', '', 'g') as decimal(38, 4))
            as amount,
        file_name
    from finance_lines
),
revised as (
    select *
    from parsed
    qualify file_name = max(file_name) over (partition by month_start)
)
select r.month_start, sum(r.amount) as amount
from revised r
join funding_map f on f.funding_source = r.funding_source
where f.ministry_funded
group by r.month_start;

-- ------------------------------------------------------------------------------------------
-- The ten elements per stage, year to date from the fiscal year's first day
-- ------------------------------------------------------------------------------------------
create temp table floor_report as
with contact_counts as (
    select
        st.stage,
        (select count(*) from call_outcomes o
            where o.outcome = 'counted' and o.local_date between date '$fy_start' and st.period_end)
            as calls,
        (select count(*) from chat_outcomes o
            where o.outcome = 'counted' and o.local_date between date '$fy_start' and st.period_end)
            as chats,
        (select count(*) from email_outcomes o
            where o.outcome = 'counted' and o.local_date between date '$fy_start' and st.period_end)
            as emails,
        (select count(*) from text_outcomes o
            where o.outcome = 'counted' and o.local_date between date '$fy_start' and st.period_end)
            as texts,
        (select coalesce(sum(w.sessions), 0) from web_days w
            where w.local_date between date '$fy_start' and st.period_end) as web_sessions,
        (select count(*) from call_outcomes o
            where o.outcome = 'abandoned'
            and o.local_date between date '$fy_start' and st.period_end) as calls_abandoned,
        (select count(*) from chat_outcomes o
            where o.outcome = 'abandoned'
            and o.local_date between date '$fy_start' and st.period_end) as chats_abandoned,
        (select sum(f.amount) from finance_months f
            where f.month_start between date '$fy_start' and st.period_end) as expenditures
    from stages st
),
satisfaction as (
    select
        st.stage,
        ch.channel,
        count(*) filter (
            where r.answer in ('very satisfied', 'satisfied')
        ) as numerator,
        count(*) filter (
            where r.answer in ('very satisfied', 'satisfied', 'not satisfied')
        ) as denominator
    from stages st
    cross join (values ('phone'), ('chat')) as ch(channel)
    left join survey_responses r
        on r.channel = ch.channel
        and r.local_date between date '$fy_start' and st.period_end
    group by st.stage, ch.channel
),
satisfaction_values as (
    select
        stage,
        channel,
        numerator,
        denominator,
        -- Half-up to one decimal in exact integer arithmetic: round(1000 n / d) / 10.
        case when denominator > 0
            then (((2000 * numerator + denominator) // (2 * denominator))::decimal(18, 0) / 10)
                ::decimal(18, 1)
            end as value
    from satisfaction
),
elements as (
    select stage, 1 as element_order, calls::varchar as value, null as numerator,
        null as denominator from contact_counts
    union all select stage, 2, chats::varchar, null, null from contact_counts
    union all select stage, 3, emails::varchar, null, null from contact_counts
    union all select stage, 4, texts::varchar, null, null from contact_counts
    union all select stage, 5, web_sessions::varchar, null, null from contact_counts
    union all
    select stage, 6, value::varchar, numerator, denominator
    from satisfaction_values where channel = 'phone'
    union all
    select stage, 7, value::varchar, numerator, denominator
    from satisfaction_values where channel = 'chat'
    union all select stage, 8, calls_abandoned::varchar, null, null from contact_counts
    union all select stage, 9, chats_abandoned::varchar, null, null from contact_counts
    union all
    select stage, 10, round(coalesce(expenditures, 0), 2)::decimal(18, 2)::varchar, null, null
    from contact_counts
),
element_names as (
    select * from (values
        (1, '# of Calls'),
        (2, '# of Chats'),
        (3, '# of Emails'),
        (4, '# of Texts'),
        (5, '# of Website Sessions'),
        (6, 'Client Satisfaction: Phone Service'),
        (7, 'Client Satisfaction: Chat Service'),
        (8, '# of Calls Abandoned'),
        (9, '# of Chats Abandoned'),
        (10, 'Info and referral service: Ministry-funded Agency Expenditures')
    ) as names(element_order, element)
)
select
    '$fiscal_year' as fiscal_year,
    st.stage,
    st.stage_kind,
    date '$fy_start' as period_start,
    st.period_end,
    e.element_order,
    n.element,
    e.value,
    e.numerator,
    e.denominator
from elements e
join stages st on st.stage = e.stage
join element_names n on n.element_order = e.element_order
order by st.period_end, e.element_order;
