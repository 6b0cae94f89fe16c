-- All pipelines, deleted ones too: deals and their history keep pointing at them.
select id as pipeline_id, name as pipeline_name, order_nr, coalesce(is_deleted, false) or _deleted as is_deleted
from {{ source('pipedrive', 'pipeline') }}
