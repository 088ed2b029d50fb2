import { Router } from 'express';
import type { Stores } from '../../core/stores/index.js';
import type { Client } from '@temporalio/client';
import type { FrameAnalysis } from '../frameAnalysis.js';

/** Liveness, and readiness of everything a request needs. */
export function healthRoutes(deps: { stores: Stores; temporal: () => Promise<Client>; analysis: FrameAnalysis; backend: string }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
        return 'ok';
      } catch (err) {
        return `down: ${(err as Error).message}`;
      }
    };
    const checks = {
      registry: await check(() => deps.stores.registry.listModels()),
      objects: await check(() => deps.stores.objects.exists('health/probe')),
      measurements: await check(() => deps.stores.measurements.deploymentStats('health-probe')),
      temporal: await check(async () => (await deps.temporal()).workflowService.getSystemInfo({})),
    };
    const ready = Object.values(checks).every((c) => c === 'ok');
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks,
      mlBackend: deps.backend,
      analysis: { ...deps.analysis.status(), spooled: await deps.analysis.spooledCount() },
    });
  });
  return router;
}
