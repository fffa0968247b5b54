-- The grain of a model keyed by several columns: no two rows share the combination (nulls are
-- compared as equal, as the record keys of extracts.md treat a blank hostname).
{% test unique_combination_of_columns(model, columns) %}

    select
        {{ columns | join(', ') }},
        count(*) as rows_with_key
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1

{% endtest %}
