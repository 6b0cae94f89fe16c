select id as organization_id, name as organization_name, owner_id
from {{ source('pipedrive', 'organization') }}
where not _deleted and not coalesce(is_deleted, false)
