-- All stages, deleted ones too: deals and their history keep pointing at them.
select id as stage_id, name as stage_name, pipeline_id, order_nr, deal_probability, coalesce(is_deleted, false) or _deleted as is_deleted
from {{ source('pipedrive', 'stage') }}
