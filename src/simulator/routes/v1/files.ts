/**
 * v1 files, metadata only: getFiles, getFile, addFile, updateFile, deleteFile. Nothing is stored
 * or downloadable; addFile takes the metadata as JSON or form fields (file_name, file_size, links)
 * instead of a multipart upload.
 */
import express, { type RequestHandler, type Router } from 'express';
import { badRequest, sendData } from '../../http/envelope.ts';
import { pathId } from '../../http/params.ts';
import type { FileRecord, NewFile } from '../../store/files.ts';
import type { SimStore } from '../../store/index.ts';
import type { Row } from '../../store/table.ts';
import { bodyOf, readFields } from './body.ts';
import { caller, formatV1, notFound, offsetParams, sendPage, sortParam } from './common.ts';
import { names, type Names } from './names.ts';

export const FILES_MAX_LIMIT = 100;

export function presentFile(row: Row<FileRecord>, n: Names, store: SimStore): Record<string, unknown> {
  const f = row.data;
  const lead = f.lead_id === null ? null : store.v1.leads.get(f.lead_id);
  return {
    id: row.id, user_id: f.user_id, deal_id: f.deal_id, person_id: f.person_id, org_id: f.org_id, product_id: f.product_id,
    activity_id: f.activity_id, lead_id: f.lead_id, log_id: null, add_time: formatV1(row.addSec), update_time: formatV1(row.updateSec),
    file_name: f.file_name, file_type: f.file_type, file_size: f.file_size, active_flag: f.active_flag, inline_flag: false,
    remote_location: f.remote_location, remote_id: '', cid: '', s3_bucket: '', mail_message_id: f.mail_message_id === null ? '' : String(f.mail_message_id),
    mail_template_id: '', deal_name: n.deal(f.deal_id) ?? '', person_name: n.person(f.person_id) ?? '', org_name: n.org(f.org_id) ?? '',
    product_name: '', lead_name: lead?.data.title ?? '', url: `https://sim.pipedrive.com/v1/files/${row.id}/download`,
    name: f.name, description: f.description,
  };
}

export function fileRoutes(store: SimStore, operation: (name: string) => RequestHandler): Router {
  const r = express.Router();
  const files = store.v1.files;
  const n = names(store);

  r.get('/files', operation('getFiles'), (req, res) => {
    const p = offsetParams(req, FILES_MAX_LIMIT);
    const sort = sortParam(req, ['id', 'update_time'] as const, 'id');
    const { rows, more } = files.list({ ...p, sortBy: sort.field, direction: sort.direction });
    sendPage(res, rows.map((row) => presentFile(row, n, store)), p, more);
  });

  r.get('/files/:id', operation('getFile'), (req, res) => {
    const row = files.get(pathId(req));
    if (!row) throw notFound('File');
    sendData(res, presentFile(row, n, store));
  });

  r.post('/files', operation('addFile'), (req, res) => {
    if (req.is('multipart/form-data')) throw badRequest('The simulator stores file metadata only: send JSON or form fields (file_name, file_size, deal_id, ...)');
    const body = bodyOf(req);
    const f = readFields(body, {
      file_name: 'string', file: 'string', file_size: 'int', name: 'string', description: 'string', remote_location: 'string',
      deal_id: 'int', person_id: 'int', org_id: 'int', product_id: 'int', activity_id: 'int', lead_id: 'uuid',
    });
    const fileName = (f.file_name ?? f.file) as string | undefined;
    if (fileName === undefined || fileName.trim() === '') throw badRequest('Validation failed: file: Required');
    if (typeof f.deal_id === 'number' && !store.deals.get(f.deal_id)) throw badRequest('Deal not found');
    const row = files.create(caller(res).userId, { ...(f as Omit<NewFile, 'file_name'>), file_name: fileName });
    sendData(res, presentFile(row, n, store));
  });

  r.put('/files/:id', operation('updateFile'), (req, res) => {
    const f = readFields(bodyOf(req), { name: 'string', description: 'string' }) as { name?: string; description?: string };
    const row = files.update(caller(res).userId, pathId(req), f);
    if (!row) throw notFound('File');
    sendData(res, presentFile(row, n, store));
  });

  r.delete('/files/:id', operation('deleteFile'), (req, res) => {
    const id = pathId(req);
    if (!files.delete(caller(res).userId, id)) throw notFound('File');
    sendData(res, { id });
  });

  return r;
}
