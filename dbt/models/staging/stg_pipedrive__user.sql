-- All users, deactivated and deleted ones too: deals keep pointing at them.
select id as user_id, name as user_name, email, active_flag, coalesce(is_deleted, false) as is_deleted
from {{ source('pipedrive', 'user') }}
