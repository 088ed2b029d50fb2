import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { rolloutSignalAnswerSchema, rolloutStatusAnswerSchema } from '../../contracts/http/deployments.js';
import { action, instruction } from '../routes/rollout.js';
import { describeRoute } from './routeDoc.js';

/** api/routes/rollout.ts */
export function describeRolloutRoutes(registry: OpenAPIRegistry): void {
  const tag = 'rollouts';
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
