-- Every stored version of every deal; a delete closes the last version (its _deleted row is left out).
select
  id as deal_id, _start as valid_from, _end as valid_to, _active as is_active, stage_id, pipeline_id, status,
  value, currency, owner_id, add_time, stage_change_time, update_time
from {{ source('pipedrive', 'deal_history') }}
where not _deleted
