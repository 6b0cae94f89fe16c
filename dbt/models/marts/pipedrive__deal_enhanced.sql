-- One row per live deal with the names of its owner, person, organization, pipeline and stage, and the
-- counts of its (live) activities.
with activity_counts as (
  select
    deal_id,
    count(*) as activities_count,
    sum(case when done then 1 else 0 end) as done_activities_count,
    sum(case when done then 0 else 1 end) as undone_activities_count
  from {{ ref('stg_pipedrive__activity') }}
  where deal_id is not null
  group by deal_id
)
select
  d.deal_id, d.title, d.status, d.value, d.currency,
  d.owner_id, u.user_name as owner_name,
  d.person_id, p.person_name,
  d.organization_id, o.organization_name,
  d.pipeline_id, pl.pipeline_name,
  d.stage_id, s.stage_name, s.order_nr as stage_order_nr,
  d.add_time, d.update_time, d.stage_change_time, d.won_time, d.lost_time, d.close_time, d.expected_close_date,
  coalesce(a.activities_count, 0) as activities_count,
  coalesce(a.done_activities_count, 0) as done_activities_count,
  coalesce(a.undone_activities_count, 0) as undone_activities_count
from {{ ref('stg_pipedrive__deal') }} d
left join {{ ref('stg_pipedrive__user') }} u on u.user_id = d.owner_id
left join {{ ref('stg_pipedrive__person') }} p on p.person_id = d.person_id
left join {{ ref('stg_pipedrive__organization') }} o on o.organization_id = d.organization_id
left join {{ ref('stg_pipedrive__pipeline') }} pl on pl.pipeline_id = d.pipeline_id
left join {{ ref('stg_pipedrive__stage') }} s on s.stage_id = d.stage_id
left join activity_counts a on a.deal_id = d.deal_id
