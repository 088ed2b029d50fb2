import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { driftChecksAnswerSchema } from '../../contracts/http/measurements.js';
import { monitorAnswerSchema, monitorCheckAnswerSchema } from '../../contracts/http/monitor.js';
import { monitorConfigWire } from '../../contracts/http/registry.js';
import { checksQuery } from '../routes/monitor.js';
import { describeRoute } from './routeDoc.js';

const UNAVAILABLE = 'temporal_unavailable (Retry-After), or the registry cannot be reached';

/** api/routes/monitor.ts */
export function describeMonitorRoutes(registry: OpenAPIRegistry): void {
  const tag = 'drift monitor';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/models/:name/monitor',
    summary: 'A model’s drift monitor: its config, its schedule in Temporal, and its re-arming (re-asks against the cap per day)',
    access: 'admin',
    answers: [{ status: 200, description: 'the monitor', schema: monitorAnswerSchema }],
    errors: { 404: 'not_found: the model', 503: UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'put',
    path: '/models/:name/monitor',
    summary: 'Change the fields given of a model’s drift monitor config (the rest stay as set); its schedule follows',
    access: 'admin',
    body: monitorConfigWire,
    answers: [{ status: 200, description: 'set', schema: monitorAnswerSchema }],
    errors: { 400: 'invalid_request: the monitor config', 404: 'not_found: the model', 503: UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'delete',
    path: '/models/:name/monitor',
    summary: 'Put a model’s drift monitor back to the defaults; its schedule follows',
    access: 'admin',
    answers: [{ status: 200, description: 'the defaults', schema: monitorAnswerSchema }],
    errors: { 404: 'not_found: the model', 503: UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/models/:name/monitor/check',
    summary: 'Run a drift check of the model’s deployments now',
    access: 'admin',
    answers: [{ status: 202, description: 'a check was started', schema: monitorCheckAnswerSchema }],
    errors: {
      404: 'not_found: the model',
      409: 'monitor_disabled: the monitor is off (it would check nothing); monitor_not_scheduled: the model has no drift monitor',
      503: UNAVAILABLE,
    },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/drift',
    summary: 'A deployment’s drift checks, newest first, with their evidence',
    access: 'admin',
    query: checksQuery,
    answers: [{ status: 200, description: 'the checks', schema: driftChecksAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 404: 'not_found', 503: 'the registry or the measurement store cannot be reached' },
  });
}
