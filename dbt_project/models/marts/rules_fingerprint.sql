-- sha256 over the canonical text of rules_config (sorted), so that any change to a rule var or a
-- seed row gives another fingerprint.
with

rules_config as (
    select * from {{ ref('rules_config') }}
),

final as (
    select
        sha256(
            string_agg(source || '|' || name || '|' || value, chr(10) order by source, name, value)
        ) as fingerprint,
        count(*) as settings
    from rules_config
)

select * from final
