{# The first day of `col`'s month in UTC, as a date (PostgreSQL truncates timestamptz in the session's zone). #}
{% macro utc_month(col) -%}
  {%- if target.type == 'postgres' -%}
    cast(date_trunc('month', {{ col }} at time zone 'UTC') as date)
  {%- else -%}
    cast(date_trunc('month', {{ col }}) as date)
  {%- endif -%}
{%- endmacro %}

{# Seconds between two timestamps, as a double. #}
{% macro seconds_between(from_ts, to_ts) -%}
  (extract(epoch from {{ to_ts }}) - extract(epoch from {{ from_ts }}))
{%- endmacro %}
