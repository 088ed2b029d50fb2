import { Router } from 'express';
import { z } from 'zod';
import type { RegistryStore } from '../../core/stores/registry.js';
import { requireBearer } from '../auth.js';
import { validate } from '../errors.js';
import { describeTrainingRun, requestRetrain, type RetrainAnswer, type RetrainDeps } from '../retrainService.js';
import { trainingConfigSchema } from './admin.js';

/** Grafana's webhook contact point payload (the fields we use; others pass through into the record). */
const grafanaAlert = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()).optional(),
    startsAt: z.string().optional(),
    fingerprint: z.string().optional(),
  })
  .passthrough();
const grafanaWebhook = z
  .object({
    receiver: z.string().optional(),
    status: z.enum(['firing', 'resolved']),
    alerts: z.array(grafanaAlert).min(1),
    groupKey: z.string().optional(),
    commonLabels: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

const manualRequest = z.object({ by: z.string().min(1).max(128).default('api'), overrides: trainingConfigSchema.optional() }).strict();

export interface RetrainRouteDeps extends RetrainDeps {
  registry: RegistryStore;
  adminToken: string;
  webhookToken: string;
}

/**
 * Which model an alert is about: its `model` label, or the model of its `deployment` label.
 * The alert's deployment joins the training data.
 */
async function modelOfAlert(
  registry: RegistryStore,
  labels: Record<string, string>,
): Promise<{ model: string; deployment?: string } | undefined> {
  const deployment = labels.deployment ? await registry.getDeployment(labels.deployment) : undefined;
  const model = labels.model ?? deployment?.modelName;
  return model ? { model, deployment: deployment?.id } : undefined;
}

export function retrainRoutes(deps: RetrainRouteDeps): Router {
  const router = Router();

  router.post('/models/:name/retrain', requireBearer(deps.adminToken, 'admin'), async (req, res) => {
    const body = validate(manualRequest, req.body ?? {});
    const answer = await requestRetrain(deps, {
      modelName: req.params.name as string,
      trigger: { kind: 'manual', by: body.by },
      payload: req.body ?? {},
      overrides: body.overrides,
    });
    res.status(202).json(answer);
  });

  router.post('/webhooks/grafana', requireBearer(deps.webhookToken, 'webhook'), async (req, res) => {
    const payload = validate(grafanaWebhook, req.body, 'Grafana webhook payload');
    const results: (RetrainAnswer | { alert: string; outcome: 'ignored'; reason: string })[] = [];
    for (const alert of payload.alerts) {
      const name = alert.labels.alertname ?? 'alert';
      if (alert.status !== 'firing') {
        results.push({ alert: name, outcome: 'ignored', reason: 'resolved alerts start nothing' });
        continue;
      }
      const target = await modelOfAlert(deps.registry, alert.labels);
      if (!target) {
        results.push({ alert: name, outcome: 'ignored', reason: 'alert has neither a "model" label nor a known "deployment" label' });
        continue;
      }
      results.push(
        await requestRetrain(deps, {
          modelName: target.model,
          trigger: {
            kind: 'grafana',
            by: name,
            alerts: [{ status: alert.status, labels: alert.labels, startsAt: alert.startsAt, fingerprint: alert.fingerprint }],
          },
          payload: alert,
          extraDeployments: target.deployment ? [target.deployment] : [],
          dedupeKey: `${alert.fingerprint ?? JSON.stringify(alert.labels)}@${alert.startsAt ?? ''}`,
        }),
      );
    }
    res.status(202).json({ results });
  });

  router.get('/workflows/:workflowId/runs/:runId', requireBearer(deps.adminToken, 'admin'), async (req, res) => {
    res.json(await describeTrainingRun(deps, req.params.workflowId as string, req.params.runId as string));
  });

  return router;
}
