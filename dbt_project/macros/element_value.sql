-- The reported value of an element from its exact components (rules.md): counts as whole
-- numbers; satisfaction = 100 x numerator / denominator rounded half-up to one decimal, blank
-- when the denominator is 0; expenditures summed exactly and rounded half-up to cents.
-- Satisfaction is rounded in integer arithmetic: tenths = floor((2000 n + d) / 2d) is exactly
-- round-half-up(1000 n / d) for n, d >= 0, with no binary floating point anywhere.
{% macro element_value(unit, count_value, numerator, denominator, exact_amount) -%}
    cast(
        case {{ unit }}
            when 'count' then cast({{ count_value }} as decimal(18, 2))
            when 'percent' then
                case
                    when {{ denominator }} > 0
                        then cast(
                            (2000 * {{ numerator }} + {{ denominator }})
                            // (2 * {{ denominator }}) as decimal(18, 2)
                        ) * 0.1
                end
            when 'currency' then round({{ exact_amount }}, 2)
        end as decimal(18, 2)
    )
{%- endmacro %}
