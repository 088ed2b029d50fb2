import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { effectiveRolloutPolicy } from '../../core/rollout/rolloutPolicy.js';
import type { RetrainDeps } from '../retrainService.js';
import { ApiError, notFound, validate } from '../errors.js';
import { callTemporal } from '../temporalAccess.js';
import {
  abortSignal,
  pauseSignal,
  promoteSignal,
  resumeSignal,
  rolloutStatusQuery,
  rolloutWorkflowIdFor,
  type RolloutResult,
} from '../../workflows/rollout/contract.js';

const SIGNALS = { promote: promoteSignal, abort: abortSignal, pause: pauseSignal, resume: resumeSignal };
const action = z.enum(['promote', 'abort', 'pause', 'resume']);
const instruction = z.object({ by: z.string().trim().min(1).max(256).default('admin'), reason: z.string().max(1000).optional() }).strict();

export { action, instruction };

/** A deployment's rollout: what the registry serves, and its Rollout workflow's state; a human's promote, abort, pause, resume (admin token). */
export function rolloutRoutes(deps: Pick<RetrainDeps, 'registry' | 'temporal' | 'temporalUi' | 'temporalDeadlineMs' | 'log'>): Router {
  const router = Router();
  const deploymentOrNotFound = async (id: string) => {
    const deployment = await deps.registry.getDeployment(id);
    if (!deployment) throw notFound(`deployment "${id}"`);
    return deployment;
  };

  router.get('/deployments/:id/rollout', async (req, res) => {
    const deployment = await deploymentOrNotFound(req.params.id);
    const workflowId = rolloutWorkflowIdFor(deployment.id);
    // The registry's side answers even while Temporal cannot.
    const workflow = await callTemporal(deps, async (client) => {
      const handle = client.workflow.getHandle(workflowId);
      try {
        const { runId, status } = await handle.describe();
        const ui = `${deps.temporalUi.url}/namespaces/${deps.temporalUi.namespace}/workflows/${workflowId}/${runId}/history`;
        if (status.name === 'RUNNING') return { workflowId, runId, status: status.name, ui, state: await handle.query(rolloutStatusQuery) };
        const result = status.name === 'COMPLETED' ? ((await handle.result()) as RolloutResult) : undefined;
        return { workflowId, runId, status: status.name, ui, result };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    }).catch((err) => {
      if (err instanceof ApiError && err.code === 'temporal_unavailable') return { workflowId, status: 'UNKNOWN', error: err.message };
      throw err;
    });
    res.json({
      deployment: deployment.id,
      strategy: deployment.strategy,
      currentVersion: deployment.currentVersion,
      rollout: deployment.rollout,
      policy: effectiveRolloutPolicy(deployment.rolloutPolicy),
      workflow,
    });
  });

  router.post('/deployments/:id/rollout/:action', async (req, res) => {
    const kind = validate(action, req.params.action, 'action');
    const body = validate(instruction, req.body ?? {});
    const deployment = await deploymentOrNotFound(req.params.id);
    const workflowId = rolloutWorkflowIdFor(deployment.id);
    const signalled = await callTemporal(deps, async (client) => {
      const handle = client.workflow.getHandle(workflowId);
      try {
        // A closed rollout (or none) refuses the signal.
        await handle.signal(SIGNALS[kind], body);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    });
    if (!signalled) throw new ApiError(409, 'no_rollout', `deployment "${deployment.id}" has no rollout running`);
    res.status(202).json({ deployment: deployment.id, workflowId, signal: kind, ...body });
  });

  return router;
}
