-- The configuration a report used (rules.md: "A report records the configuration it used"):
-- every rule var with its value, and every row of every rule seed as canonical text.
with

{% for seed_name in rules_seed_names() %}
{{ seed_name }} as (
    select * from {{ ref(seed_name) }}
),

{% endfor %}
vars as (
    {% for var_name in rules_var_names() %}
    select
        '{{ var_name }}' as name,
        '{{ var(var_name) | string | replace("'", "''") }}' as value,
        'var' as source
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

seed_rows as (
    {% for seed_name in rules_seed_names() %}
    select
        '{{ seed_name }}' || ':' || cast(row_to_json({{ seed_name }}) as varchar) as name,
        cast(row_to_json({{ seed_name }}) as varchar) as value,
        'seed' as source
    from {{ seed_name }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select * from vars
    union all
    select * from seed_rows
)

select * from final
