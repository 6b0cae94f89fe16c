/**
 * The body of `POST /v1/connectors`, as a zod schema: a name, an optional topic prefix, the Pipedrive
 * credentials — an API token, or an OAuth app to authorize — and optionally tables and sync rules (the
 * configuration file's shapes). A refusal names the field and what is allowed, never the value sent.
 */
import { z } from 'zod';
import { syncRulesSchema } from '../config-rules.ts';

const httpUrl = z
  .string()
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL')
  .transform((s) => s.replace(/\/+$/, ''));

const pipedriveSchema = z
  .object({
    apiToken: z.string().min(1, 'must not be empty').optional(),
    baseUrl: httpUrl.optional(),
    oauth: z
      .object({
        clientId: z.string().min(1, 'must not be empty'),
        clientSecret: z.string().min(1, 'must not be empty'),
        redirectUri: httpUrl.optional(),
        oauthUrl: httpUrl.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.apiToken === undefined && p.oauth === undefined) ctx.addIssue({ code: 'custom', path: ['apiToken'], message: 'required: an API token, or "oauth" with the app\'s clientId and clientSecret' });
    if (p.apiToken !== undefined && p.oauth !== undefined) ctx.addIssue({ code: 'custom', path: ['oauth'], message: 'give either apiToken or oauth, not both' });
    if (p.oauth !== undefined && p.baseUrl !== undefined) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'not used with oauth (the company URL comes with the tokens)' });
  });

export const createConnectorSchema = z
  .object({
    name: z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . and - only'),
    topicPrefix: z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only').optional(),
    pipedrive: pipedriveSchema,
    tables: z.array(z.string().min(1)).min(1, 'at least one table (or leave it out for all)').optional(),
    rules: syncRulesSchema.optional(),
    // Where Pipedrive posts the connector's webhooks (issue 14); the password is generated and kept sealed.
    webhooks: z
      .object({
        publicUrl: z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'must be an http(s) URL such as https://cdc.example.com/hooks/acme'),
        port: z.number().int('must be a whole number').min(1, 'must be a port, 1 to 65535').max(65_535, 'must be a port, 1 to 65535').optional(),
        host: z.string().regex(/^[0-9a-zA-Z.:-]+$/, 'must be an IP address or host name to listen on, such as 127.0.0.1').optional(),
        user: z.string().min(1).max(255).refine((u) => !u.includes(':'), 'must not contain ":"').optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type CreateConnectorRequest = z.infer<typeof createConnectorSchema>;

/** The request, or a message naming every bad field (`pipedrive.oauth.clientSecret: …`). */
export function parseCreateConnector(body: unknown): { ok: true; value: CreateConnectorRequest } | { ok: false; message: string } {
  const parsed = createConnectorSchema.safeParse(body);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.map((i) => {
    const where = i.path.map(String).join('.') || '(the body)';
    const what = i.code === 'unrecognized_keys' ? `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message;
    return `${where}: ${what}`;
  });
  return { ok: false, message: issues.join('; ') };
}
