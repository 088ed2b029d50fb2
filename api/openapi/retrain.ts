import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { rerunAnswerSchema, retrainAnswerSchema, trainingRunAnswerSchema, webhookAnswerSchema } from '../../contracts/http/retrain.js';
import { workflowRunParams } from '../routes/params.js';
import { grafanaWebhook, manualRequest, rerunRequest } from '../routes/retrain.js';
import { describeRoute } from './routeDoc.js';

const UNAVAILABLE = 'temporal_unavailable: the ask is recorded and handed over later (Retry-After); or the registry cannot be reached';

/** api/routes/retrain.ts */
export function describeRetrainRoutes(registry: OpenAPIRegistry): void {
  const tag = 'retraining';
  describeRoute(registry, tag, {
    method: 'post',
    path: '/models/:name/retrain',
    summary: 'Ask for a retrain: starts the model’s TrainAndRegister run, or joins the running one',
    access: 'admin',
    body: manualRequest,
    answers: [{ status: 202, description: 'recorded and started, joined or a duplicate', schema: retrainAnswerSchema }],
    errors: {
      400: 'invalid_request',
      404: 'not_found: the model',
      409: 'no_training_config: the model has no training config or no training deployments',
      422: 'unknown_deployment: the config names a deployment that does not exist',
      503: UNAVAILABLE,
    },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/webhooks/grafana',
    summary: 'Grafana’s webhook contact point: each firing alert asks for a retrain of its model',
    description: 'Each alert of the notification is answered on its own, with its own status, in `results`.',
    access: 'webhook',
    body: grafanaWebhook,
    answers: [{ status: 200, description: 'every alert answered', schema: webhookAnswerSchema }],
    errors: { 400: 'invalid_request: not a Grafana webhook payload', 503: 'the registry cannot be reached' },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/models/:name/versions/:version/rerun',
    summary: 'Rerun a version’s experiment step (sweep, selection, registration) on its identical dataset',
    access: 'admin',
    params: z.object({ name: z.string(), version: z.coerce.number().int().positive() }),
    body: rerunRequest,
    answers: [
      { status: 200, description: 'dryRun: the run it would start', schema: rerunAnswerSchema },
      { status: 202, description: 'the rerun was started', schema: rerunAnswerSchema },
    ],
    errors: { 400: 'invalid_request', 404: 'not_found: the version', 503: UNAVAILABLE },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/workflows/:workflowId/runs/:runId',
    summary: 'A training run: its progress while it runs, its result once completed',
    access: 'admin',
    params: workflowRunParams,
    answers: [{ status: 200, description: 'the run', schema: trainingRunAnswerSchema }],
    errors: { 400: 'invalid_request: the run id is not a UUID', 404: 'not_found', 503: 'temporal_unavailable (Retry-After)' },
  });
}
