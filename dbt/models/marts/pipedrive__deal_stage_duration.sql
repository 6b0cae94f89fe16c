-- Every stay of a deal in a stage, from DEAL_HISTORY: consecutive versions in the same stage are one stay.
-- A stay starts when the deal entered the stage (the version's stage_change_time; the deal's add_time for its
-- first stage) and ends when the next stay starts; the current stay has no end (days_in_stage null).
with versions as (
  select deal_id, valid_from, stage_id, pipeline_id, add_time, stage_change_time,
         lag(stage_id) over (partition by deal_id order by valid_from) as previous_stage_id
  from {{ ref('stg_pipedrive__deal_history') }}
),
numbered as (
  select *,
         sum(case when previous_stage_id is null or previous_stage_id <> stage_id then 1 else 0 end)
           over (partition by deal_id order by valid_from rows between unbounded preceding and current row) as stage_visit
  from versions
),
stays as (
  select deal_id, stage_visit, min(stage_id) as stage_id, min(pipeline_id) as pipeline_id,
         min(valid_from) as first_version_at, min(add_time) as add_time, min(stage_change_time) as stage_change_time
  from numbered
  group by deal_id, stage_visit
),
entered as (
  select deal_id, stage_visit, stage_id, pipeline_id,
         case when stage_visit = 1 then add_time else coalesce(stage_change_time, first_version_at) end as entered_at
  from stays
),
timed as (
  select *, lead(entered_at) over (partition by deal_id order by stage_visit) as left_at
  from entered
)
select
  cast(t.deal_id as varchar) || '-' || cast(t.stage_visit as varchar) as deal_stage_visit_id,
  t.deal_id, t.stage_visit, t.stage_id, s.stage_name, t.pipeline_id, t.entered_at, t.left_at,
  case when t.left_at is null then null else {{ seconds_between('t.entered_at', 't.left_at') }} / 86400.0 end as days_in_stage
from timed t
left join {{ ref('stg_pipedrive__stage') }} s on s.stage_id = t.stage_id
