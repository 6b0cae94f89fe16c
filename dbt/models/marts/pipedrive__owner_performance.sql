-- Per owner, month (UTC) and currency: deals won and lost in the month (by won_time / lost_time) with their
-- value, deals added in the month that are still open with their value, and the win rate of the month's
-- closed deals (won / (won + lost); null without closed deals). Values are never summed across currencies.
with events as (
  select owner_id, currency, {{ utc_month('won_time') }} as month, 'won' as kind, value
  from {{ ref('stg_pipedrive__deal') }} where status = 'won' and won_time is not null
  union all
  select owner_id, currency, {{ utc_month('lost_time') }}, 'lost', value
  from {{ ref('stg_pipedrive__deal') }} where status = 'lost' and lost_time is not null
  union all
  select owner_id, currency, {{ utc_month('add_time') }}, 'open', value
  from {{ ref('stg_pipedrive__deal') }} where status = 'open'
),
per_month as (
  select
    owner_id, month, currency,
    sum(case when kind = 'won' then 1 else 0 end) as won_deals,
    sum(case when kind = 'won' then value else 0 end) as won_value,
    sum(case when kind = 'lost' then 1 else 0 end) as lost_deals,
    sum(case when kind = 'lost' then value else 0 end) as lost_value,
    sum(case when kind = 'open' then 1 else 0 end) as open_deals,
    sum(case when kind = 'open' then value else 0 end) as open_value
  from events
  group by owner_id, month, currency
)
select
  cast(owner_id as varchar) || '-' || cast(month as varchar) || '-' || currency as owner_month_currency_id,
  m.owner_id, u.user_name as owner_name, m.month, m.currency,
  m.won_deals, m.won_value, m.lost_deals, m.lost_value, m.open_deals, m.open_value,
  case when m.won_deals + m.lost_deals = 0 then null
       else cast(m.won_deals as double precision) / (m.won_deals + m.lost_deals) end as win_rate
from per_month m
left join {{ ref('stg_pipedrive__user') }} u on u.user_id = m.owner_id
