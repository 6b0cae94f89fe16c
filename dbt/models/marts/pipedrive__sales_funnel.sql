-- Per pipeline and stage (live stages of live pipelines): the open deals in the stage and their value
-- (summed in the deals' own currencies: see docs/MODELS.md), the deals that reached the stage (their current
-- stage is this one or a later one of the pipeline, whatever their status), and the conversion to the next
-- stage (deals that reached the next stage / deals that reached this one; null for the last stage).
with stages as (
  select s.stage_id, s.stage_name, s.pipeline_id, p.pipeline_name, s.order_nr,
         lead(s.stage_id) over (partition by s.pipeline_id order by s.order_nr, s.stage_id) as next_stage_id
  from {{ ref('stg_pipedrive__stage') }} s
  join {{ ref('stg_pipedrive__pipeline') }} p on p.pipeline_id = s.pipeline_id
  where not s.is_deleted and not p.is_deleted
),
deals as (
  select d.deal_id, d.pipeline_id, d.stage_id, d.status, d.value, s.order_nr as stage_order_nr
  from {{ ref('stg_pipedrive__deal') }} d
  join stages s on s.stage_id = d.stage_id
),
per_stage as (
  select
    s.stage_id,
    sum(case when d.status = 'open' and d.stage_id = s.stage_id then 1 else 0 end) as open_deals,
    sum(case when d.status = 'open' and d.stage_id = s.stage_id then d.value else 0 end) as open_value,
    sum(case when d.stage_order_nr >= s.order_nr then 1 else 0 end) as deals_reached
  from stages s
  left join deals d on d.pipeline_id = s.pipeline_id
  group by s.stage_id
)
select
  s.pipeline_id, s.pipeline_name, s.stage_id, s.stage_name, s.order_nr as stage_order_nr, s.next_stage_id,
  coalesce(ps.open_deals, 0) as open_deals, coalesce(ps.open_value, 0) as open_value,
  coalesce(ps.deals_reached, 0) as deals_reached,
  case when s.next_stage_id is null or coalesce(ps.deals_reached, 0) = 0 then null
       else cast(coalesce(nx.deals_reached, 0) as double precision) / ps.deals_reached end as conversion_to_next_stage
from stages s
left join per_stage ps on ps.stage_id = s.stage_id
left join per_stage nx on nx.stage_id = s.next_stage_id
