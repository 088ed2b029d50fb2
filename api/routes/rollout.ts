import { Router } from 'express';
import { z } from 'zod';
import {
  describeRollout,
  describeRolloutRun,
  listRollouts,
  ROLLOUT_ACTIONS,
  signalRollout,
  type RolloutControlDeps,
} from '../../control/rollouts.js';
import { validate } from '../errors.js';
import { workflowRunParams } from './params.js';

const action = z.enum(ROLLOUT_ACTIONS);
const instruction = z.object({ by: z.string().trim().min(1).max(256).default('admin'), reason: z.string().max(1000).optional() }).strict();

const rolloutsQuery = z.object({
  status: z.enum(['running', 'closed']).optional().meta({ description: 'left out: both' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

export { action, instruction, rolloutsQuery };

/** A deployment's rollout: what the registry serves, and its Rollout workflow's state; a human's promote, abort, pause, resume (admin token). */
export function rolloutRoutes(deps: RolloutControlDeps): Router {
  const router = Router();

  router.get('/rollouts', async (req, res) => {
    res.json(await listRollouts(deps, validate(rolloutsQuery, req.query, 'query')));
  });

  router.get('/rollouts/:workflowId/runs/:runId', async (req, res) => {
    const { workflowId, runId } = validate(workflowRunParams, req.params, 'path');
    res.json(await describeRolloutRun(deps, workflowId, runId));
  });

  router.get('/deployments/:id/rollout', async (req, res) => {
    res.json(await describeRollout(deps, req.params.id));
  });

  router.post('/deployments/:id/rollout/:action', async (req, res) => {
    const kind = validate(action, req.params.action, 'action');
    const body = validate(instruction, req.body ?? {});
    res.status(202).json(await signalRollout(deps, req.params.id, kind, body));
  });

  return router;
}
