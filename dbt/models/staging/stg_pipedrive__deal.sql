-- Live deals: neither deleted in Pipedrive (is_deleted) nor deleted in the sink (_deleted).
select
  id as deal_id, title, owner_id, creator_user_id, person_id, org_id as organization_id, pipeline_id, stage_id,
  status, value, currency, add_time, update_time, stage_change_time, won_time, lost_time, close_time,
  expected_close_date, lost_reason, probability, is_archived
from {{ source('pipedrive', 'deal') }}
where not _deleted and not coalesce(is_deleted, false)
