select id as activity_id, subject, type, owner_id, deal_id, person_id, org_id as organization_id, done, due_date, marked_as_done_time
from {{ source('pipedrive', 'activity') }}
where not _deleted and not coalesce(is_deleted, false)
