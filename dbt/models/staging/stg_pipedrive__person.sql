select id as person_id, name as person_name, org_id as organization_id, owner_id
from {{ source('pipedrive', 'person') }}
where not _deleted and not coalesce(is_deleted, false)
