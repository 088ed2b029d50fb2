import type { OpenAPIRegistry, ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { errorBodySchema } from '../../contracts/http/common.js';

/**
 * Who may call a route: api/access.ts (`admin`: the admin token, or a viewer token on a GET; `admin-only`: the admin
 * token alone), api/auth.ts (the webhook token), api/routes/predict.ts (rover client tokens).
 */
export type Access = 'public' | 'public-or-admin' | 'admin' | 'admin-only' | 'client' | 'webhook';

export const SECURITY_SCHEMES = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'the admin token (ADMIN_TOKEN): management and reads' },
  viewerToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'a viewer token, shown once by POST /viewers: every GET of the admin routes but /viewers, nothing else (403)',
  },
  clientToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'a rover’s client token, shown once by POST /clients; the rover may send its id as X-Client-Id too',
  },
  webhookToken: { type: 'http', scheme: 'bearer', description: 'the webhook token (WEBHOOK_TOKEN) Grafana’s contact point sends' },
} as const;

const SECURITY: Record<Access, RouteConfig['security']> = {
  public: [],
  'public-or-admin': [{}, { adminToken: [] }],
  admin: [{ adminToken: [] }],
  'admin-only': [{ adminToken: [] }],
  client: [{ clientToken: [] }],
  webhook: [{ webhookToken: [] }],
};

/** What each error status means across the API; a route adds which of its own refusals it is. */
const ERROR_MEANING: Record<number, string> = {
  400: 'invalid request',
  401: 'missing_token or invalid_token',
  403: 'forbidden: the token may not do this',
  404: 'not_found',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload too large',
  415: 'unsupported media type',
  422: 'well-formed, but cannot be acted on',
  429: 'too many requests',
  500: 'internal: the API log has the details',
  503: 'unavailable for now (a store or Temporal cannot answer); sent with Retry-After when it is expected to pass',
};

export interface Answer {
  status: number;
  description: string;
  /** The JSON body; left out for an empty one (204). */
  schema?: z.ZodType;
  /** Another media type than JSON (the reference profile is JSON too, served as stored). */
  contentType?: string;
}

/** One route of the Express app as the API description shows it. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express's path, `/deployments/:id`. */
  path: string;
  summary: string;
  description?: string;
  access: Access;
  /** Path parameters; by default each `:name` of the path is a string. */
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request headers the route reads beside the token. */
  headers?: z.ZodObject;
  /** A JSON body. */
  body?: z.ZodType;
  /** A multipart/form-data body. */
  form?: z.ZodType;
  answers: Answer[];
  /** Error statuses the route itself can answer, each with the codes it uses. */
  errors?: Record<number, string>;
}

/** `/deployments/:id` as OpenAPI writes it, `/deployments/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

function pathParams(path: string): z.ZodObject | undefined {
  const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1]);
  return names.length ? z.object(Object.fromEntries(names.map((name) => [name, z.string()]))) : undefined;
}

const json = (schema: z.ZodType, contentType = 'application/json') => ({ [contentType]: { schema } });

/**
 * Registers a route: its parameters, body and answers, and the error answers `{error: {code, message}}` it can give:
 * its own, 401 when it needs a token, 400 and 413 when it reads a JSON body (api/jsonLimits.ts), and 500.
 */
export function describeRoute(registry: OpenAPIRegistry, tag: string, doc: RouteDoc): void {
  const errors: Record<number, string> = { ...doc.errors };
  if (doc.access !== 'public' && doc.access !== 'public-or-admin') errors[401] ??= 'missing_token or invalid_token';
  const viewerReads = doc.access === 'admin' && doc.method === 'get';
  if ((doc.access === 'admin' && !viewerReads) || doc.access === 'admin-only') errors[403] ??= 'forbidden: a viewer token';
  if (doc.body) {
    errors[400] = [errors[400], 'invalid_json, json_too_deep'].filter(Boolean).join('; ');
    errors[413] = [errors[413], 'payload_too_large, json_too_many_keys'].filter(Boolean).join('; ');
  }
  errors[500] ??= 'internal';
  const responses: Record<string, ResponseConfig> = {};
  for (const answer of doc.answers)
    responses[answer.status] = {
      description: answer.description,
      ...(answer.schema && { content: json(answer.schema, answer.contentType) }),
    };
  for (const [status, codes] of Object.entries(errors))
    responses[status] ??= { description: `${ERROR_MEANING[Number(status)] ?? 'error'}: ${codes}`, content: json(errorBodySchema) };

  registry.registerPath({
    method: doc.method,
    path: openApiPath(doc.path),
    operationId: `${doc.method}${openApiPath(doc.path)
      .replace(/[{}]/g, '')
      .replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string = '') => c.toUpperCase())}`,
    tags: [tag],
    summary: doc.summary,
    ...(doc.description && { description: doc.description }),
    security: viewerReads ? [{ adminToken: [] }, { viewerToken: [] }] : SECURITY[doc.access],
    request: {
      params: doc.params ?? pathParams(doc.path),
      query: doc.query,
      headers: doc.headers,
      ...(doc.body && { body: { required: true, content: json(doc.body) } }),
      ...(doc.form && { body: { required: true, content: json(doc.form, 'multipart/form-data') } }),
    },
    responses,
  });
}
