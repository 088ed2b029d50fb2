import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Stores } from '../../core/stores/index.js';
import { queuesWithoutPoller } from '../../control/temporal/taskQueuePollers.js';
import { bearerToken, sameSecret } from '../auth.js';
import type { FrameAnalysis } from '../../ingest/frameAnalysis.js';

export interface HealthDeps {
  stores: Stores;
  temporal: () => Promise<Client>;
  analysis: FrameAnalysis;
  backend: string;
  namespace: string;
  adminToken: string;
  /** Each check's deadline; the checks run in parallel. */
  checkTimeoutSeconds: number;
  /** True once the process was told to stop (SIGTERM): it takes no more frames. */
  shuttingDown?: () => boolean;
}

interface CheckResult {
  status: 'ok' | 'down';
  ms: number;
  error?: string;
}

class CheckTimeout extends Error {}

async function runCheck(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([check(), deadline]);
    return { status: 'ok', ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'down', ms: Math.round(performance.now() - started), error: (err as Error)?.message ?? String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness, and readiness of everything a request needs: each store answers a read (the object
 * store a write and a read back), Temporal answers, and workers poll both task queues. Anyone
 * sees ok/down per check; the admin token also shows why and how long each took.
 */
export function healthRoutes(deps: HealthDeps): Router {
  const router = Router();
  // One probe object per process, so API replicas never read each other's.
  const probeKey = `health/probe-${randomUUID()}`;

  const checks: Record<string, () => Promise<unknown>> = {
    registry: () => deps.stores.registry.listModels(),
    objects: async () => {
      const written = Buffer.from(randomUUID());
      await deps.stores.objects.put(probeKey, written);
      if (!(await deps.stores.objects.get(probeKey)).equals(written))
        throw new Error('the probe object read back differs from what was written');
      await deps.stores.objects.delete(probeKey);
    },
    measurements: () => deps.stores.measurements.deploymentStats('health-probe'),
    temporal: async () => (await deps.temporal()).workflowService.getSystemInfo({}),
    workers: async () => {
      const missing = await queuesWithoutPoller((await deps.temporal()).workflowService, deps.namespace);
      if (missing.length > 0) throw new Error(`no worker polls ${missing.join(', ')}`);
    },
  };

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (req, res) => {
    const timeoutMs = deps.checkTimeoutSeconds * 1000;
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((name) => runCheck(checks[name], timeoutMs)));
    const ready = results.every((r) => r.status === 'ok');
    if (!ready) res.locals.errorCode = 'not_ready';
    const token = bearerToken(req);
    const admin = token !== undefined && sameSecret(token, deps.adminToken);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not_ready',
      checks: Object.fromEntries(names.map((name, i) => [name, results[i].status])),
      ...(admin && {
        details: Object.fromEntries(names.map((name, i) => [name, results[i]])),
        mlBackend: deps.backend,
        analysis: { ...deps.analysis.status(), spooled: await deps.analysis.spooledCount() },
      }),
    });
  });

  // What a load balancer asks: can this replica take frames now? Not whether the stores, Temporal and the workers
  // answer: every replica shares them, so an outage of one would take every replica out of rotation and refuse
  // the frames their spools would have kept (routes that need Temporal answer 503 with Retry-After on their own).
  router.get('/readyz/replica', (_req, res) => {
    const reason = deps.shuttingDown?.() ? 'shutting_down' : deps.analysis.spoolFull() ? 'spool_full' : undefined;
    if (reason) res.locals.errorCode = 'not_ready';
    res.status(reason ? 503 : 200).json(reason ? { status: 'not_ready', reason } : { status: 'ready' });
  });
  return router;
}
