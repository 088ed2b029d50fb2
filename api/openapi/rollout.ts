import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  rolloutListAnswerSchema,
  rolloutRunAnswerSchema,
  rolloutSignalAnswerSchema,
  rolloutStatusAnswerSchema,
} from '../../contracts/http/deployments.js';
import { workflowRunParams } from '../routes/params.js';
import { action, instruction, rolloutsQuery } from '../routes/rollout.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/rollout.ts */
export function describeRolloutRoutes(registry: OpenAPIRegistry): void {
  const tag = 'rollouts';
  describeRoute(registry, tag, {
    method: 'get',
    path: '/rollouts',
    summary: 'Rollout runs as Temporal lists them, newest first: running ones with their stage, closed ones with their outcome',
    access: 'admin',
    query: rolloutsQuery,
    answers: [{ status: 200, description: 'the runs', schema: rolloutListAnswerSchema }],
    errors: { 400: 'invalid_request: the query', 503: 'temporal_unavailable (Retry-After)' },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/rollouts/:workflowId/runs/:runId',
    summary: 'One Rollout run: while running its status with every look so far, once completed its result and evidence',
    access: 'admin',
    params: workflowRunParams,
    answers: [{ status: 200, description: 'the run', schema: rolloutRunAnswerSchema }],
    errors: {
      400: 'invalid_request: the run id is not a UUID',
      404: 'not_found: no such run, or not a Rollout',
      503: 'temporal_unavailable (Retry-After)',
    },
  });
  describeRoute(registry, tag, {
    method: 'get',
    path: '/deployments/:id/rollout',
    summary: 'A deployment’s rollout: what the registry serves, and its Rollout workflow’s state',
    description: 'The registry’s side answers even while Temporal cannot: the workflow’s status is then UNKNOWN.',
    access: 'admin',
    answers: [{ status: 200, description: 'the rollout', schema: rolloutStatusAnswerSchema }],
    errors: { 404: 'not_found', 503: 'the registry cannot be reached' },
  });
  describeRoute(registry, tag, {
    method: 'post',
    path: '/deployments/:id/rollout/:action',
    summary: 'Promote, abort, pause or resume the running rollout',
    access: 'admin',
    params: z.object({ id: z.string(), action }),
    body: instruction,
    answers: [{ status: 202, description: 'the rollout was signalled', schema: rolloutSignalAnswerSchema }],
    errors: {
      400: 'invalid_request: the action or the body',
      404: 'not_found',
      409: 'no_rollout: no rollout is running',
      503: 'temporal_unavailable (Retry-After), or the registry cannot be reached',
    },
  });
}
