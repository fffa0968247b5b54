-- Incremental calls models: what a build after new loads must work again so that the result is
-- the one a full rebuild would give. Each model stores the newest load it has worked in.

-- the lower-cased column names of this model as stored ([] when not stored yet; sqlfluff's
-- templater has no adapter)
{% macro stored_columns() -%}
{%- if adapter is defined -%}
{{ return(adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list) }}
{%- endif -%}
{{ return([]) }}
{%- endmacro %}

-- the newest load already worked in by this incremental model (-1 when it has none, or when the
-- stored table predates the column, so everything is worked again)
{% macro loads_worked_up_to() -%}
{%- if 'load_id' in stored_columns() -%}
(select coalesce(max(load_id), -1) from {{ this }})
{%- else -%}
-1
{%- endif -%}
{%- endmacro %}

-- true when the rules stored with this model differ from the ones in force now (a var or the
-- disposition seed changed): then every contact is worked again
{% macro rules_changed_since_stored(current_rules_sql) -%}
{%- if 'rules_in_force' in stored_columns() -%}
coalesce((select any_value(rules_in_force) from {{ this }}) <> ({{ current_rules_sql }}), true)
{%- else -%}
true
{%- endif -%}
{%- endmacro %}

-- every rule var in force, as one text (the disposition seed is added by the model reading it)
{% macro rules_vars_text() -%}
'{% for name in rules_var_names() %}{{ name }}={{ (var(name) | string).replace("'", "''") }};
{%- endfor %}'
{%- endmacro %}
