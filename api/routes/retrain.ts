import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { driftDedupeKey } from '../../core/drift/driftReport.js';
import { DRIFT_MONITOR_ALERT, SENSOR_FAULT_ALERT } from '../../core/drift/monitorAlert.js';
import type { Deployment } from '../../core/stores/registry.js';
import { requireBearer } from '../auth.js';
import { fromControlError, validate } from '../errors.js';
import { ControlError } from '../../control/errors.js';
import {
  describeTrainingRun,
  requestRerun,
  requestRetrain,
  requestRetrains,
  type RetrainAnswer,
  type RetrainAskInput,
  type RetrainDeps,
} from '../../control/retrainRequests.js';
import { sweepSchema, trainingConfigSchema } from './admin.js';
import { workflowRunParams } from './params.js';

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
type GrafanaAlert = z.infer<typeof grafanaAlert>;

/** More alerts than one notification should carry (Grafana truncates groups at 100 by default). */
export const MAX_ALERTS_PER_NOTIFICATION = 500;
const grafanaWebhook = z
  .object({
    receiver: z.string().optional(),
    status: z.enum(['firing', 'resolved']),
    // Each alert is validated on its own: one malformed alert must not sink its group.
    alerts: z.array(z.unknown()).min(1).max(MAX_ALERTS_PER_NOTIFICATION),
    groupKey: z.string().optional(),
    commonLabels: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

const manualRequest = z
  .object({
    by: z.string().min(1).max(128).default('api'),
    // Kept with the ask (its payload), for whoever reads the retrain requests later.
    reason: z.string().trim().min(1).max(1024).optional(),
    overrides: trainingConfigSchema.optional(),
  })
  .strict();
const rerunRequest = z
  .object({
    by: z.string().min(1).max(128).default('api'),
    kind: z.enum(['manual', 'cli']).default('manual'),
    sweep: sweepSchema.optional(),
    registerPolicy: z.enum(['always', 'if-better']).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

export { grafanaWebhook, manualRequest, rerunRequest };

/** Alerts Grafana raises about a rule it cannot evaluate (routed here so they are seen, see grafana/src/alerting.ts). */
const GRAFANA_STATE_ALERTS = new Set(['DatasourceError', 'DatasourceNoData']);

export interface RetrainRouteDeps extends RetrainDeps {
  /** The admin routes' guard (api/access.ts): a viewer token may read a run, not ask for one. */
  admin: RequestHandler;
  webhookToken: string;
}

/** The answer for one alert of a notification: its own status, as in a 207 multi-status body. */
export type AlertResult = { alert: string; status: number } & (
  RetrainAnswer | { outcome: 'ignored'; reason: string } | { outcome: 'error'; error: { code: string; message: string } }
);

/**
 * Which model an alert is about: its `model` label, or the model of its `deployment` label.
 * The alert's deployment joins the training data, so it must belong to that model.
 */
function targetOfAlert(
  deployments: Map<string, Deployment>,
  labels: Record<string, string>,
): { model: string; deployment?: string } | { reason: string } {
  const deployment = labels.deployment ? deployments.get(labels.deployment) : undefined;
  if (labels.deployment && !deployment) return { reason: `deployment "${labels.deployment}" does not exist` };
  if (labels.model && deployment && deployment.modelName !== labels.model) {
    return {
      reason: `deployment "${deployment.id}" serves model "${deployment.modelName}", not "${labels.model}": its frames cannot train it`,
    };
  }
  const model = labels.model ?? deployment?.modelName;
  if (!model) return { reason: 'alert has neither a "model" label nor a "deployment" label' };
  return { model, deployment: deployment?.id };
}

/**
 * One retrain per drift across both alert paths: an alert of the monitor-verdict rule carries the monitor's own
 * dedupe key (one per deployment and serving version), so whichever of the monitor and Grafana asks second is a
 * duplicate. Every other alert acts once per firing (fingerprint and start time).
 */
function dedupeKeyOf(alert: GrafanaAlert): { key: string } | { reason: string } {
  if (alert.labels.alertname !== DRIFT_MONITOR_ALERT.alertName) {
    return { key: `${alert.fingerprint ?? JSON.stringify(alert.labels)}@${alert.startsAt ?? ''}` };
  }
  const { deployment, model_version: version } = alert.labels;
  if (!deployment) return { reason: `a ${DRIFT_MONITOR_ALERT.alertName} alert needs a "deployment" label` };
  if (!version || !/^[1-9][0-9]*$/.test(version) || !Number.isSafeInteger(Number(version))) {
    return {
      reason: `a ${DRIFT_MONITOR_ALERT.alertName} alert needs the serving version as a positive integer "model_version" label, got ${version === undefined ? 'none' : JSON.stringify(version)}`,
    };
  }
  return { key: driftDedupeKey(deployment, Number(version)) };
}

export function retrainRoutes(deps: RetrainRouteDeps): Router {
  const router = Router();

  router.post('/models/:name/retrain', deps.admin, async (req, res) => {
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
    res.status(200).json({ results: await answerNotification(deps, payload.alerts) });
  });

  router.post('/models/:name/versions/:version/rerun', deps.admin, async (req, res) => {
    const version = validate(z.coerce.number().int().positive(), req.params.version, 'version');
    const body = validate(rerunRequest, req.body ?? {});
    const answer = await requestRerun(deps, { modelName: req.params.name as string, fromVersion: version, ...body });
    res.status(answer.outcome === 'dry-run' ? 200 : 202).json(answer);
  });

  router.get('/workflows/:workflowId/runs/:runId', deps.admin, async (req, res) => {
    const params = validate(workflowRunParams, req.params, 'path');
    res.json(await describeTrainingRun(deps, params.workflowId, params.runId));
  });

  return router;
}

/**
 * The alerts of one notification, each answered on its own (a bad alert never stops the others), all within one
 * deadline: the deployments are read once, the asks recorded together and each model's handed over together.
 */
async function answerNotification(deps: RetrainRouteDeps, alerts: unknown[]): Promise<AlertResult[]> {
  const deployments = new Map((await deps.registry.listDeployments()).map((d) => [d.id, d]));
  const results: (AlertResult | RetrainAskInput)[] = [];
  for (const raw of alerts) {
    const sensorFault = sensorFaultAlert(raw);
    results.push(sensorFault ? await recordSensorFaultAlert(deps, sensorFault) : askOfAlert(deps, deployments, raw));
  }
  const asks = results.filter((r): r is RetrainAskInput => 'trigger' in r);
  const answers = new Map(zip(asks, await requestRetrains(deps, asks)));
  return results.map((result) => {
    if (!('trigger' in result)) return result;
    const answered = answers.get(result)!;
    const name = result.trigger.by;
    if (!(answered instanceof ControlError)) return { alert: name, status: 202, ...answered };
    const answer = fromControlError(answered);
    if (answer.status >= 500 && answer.code !== 'temporal_unavailable')
      deps.log?.warn({ err: answer.message, alert: name }, 'alert not handled');
    return { alert: name, status: answer.status, outcome: 'error', error: { code: answer.code, message: answer.message } };
  });
}

/** The retrain ask of one alert, or its answer when it asks for nothing (invalid, resolved, about nothing known). */
function askOfAlert(deps: RetrainRouteDeps, deployments: Map<string, Deployment>, raw: unknown): AlertResult | RetrainAskInput {
  const parsed = grafanaAlert.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { alert: 'alert', status: 400, outcome: 'error', error: { code: 'invalid_alert', message } };
  }
  const alert: GrafanaAlert = parsed.data;
  const name = alert.labels.alertname ?? 'alert';
  if (alert.status !== 'firing') return { alert: name, status: 200, outcome: 'ignored', reason: 'resolved alerts start nothing' };
  if (GRAFANA_STATE_ALERTS.has(name)) {
    // Grafana could not evaluate a rule: worth an operator's look, never a retrain.
    deps.log?.warn({ alert: name, rule: alert.labels.rulename, labels: alert.labels }, 'Grafana cannot evaluate an alert rule');
    return { alert: name, status: 200, outcome: 'ignored', reason: `Grafana reports ${name} for rule "${alert.labels.rulename ?? '?'}"` };
  }
  const dedupe = dedupeKeyOf(alert);
  if ('reason' in dedupe) return { alert: name, status: 422, outcome: 'ignored', reason: dedupe.reason };
  const target = targetOfAlert(deployments, alert.labels);
  if ('reason' in target) return { alert: name, status: 422, outcome: 'ignored', reason: target.reason };
  const startsAt = alert.startsAt ? Date.parse(alert.startsAt) : NaN;
  return {
    modelName: target.model,
    trigger: {
      kind: 'grafana',
      by: name,
      alerts: [{ status: alert.status, labels: alert.labels, startsAt: alert.startsAt, fingerprint: alert.fingerprint }],
    },
    payload: alert,
    extraDeployments: target.deployment ? [target.deployment] : [],
    dedupeKey: dedupe.key,
    // The alert's evidence was there when it started firing; without a start, when it is recorded.
    ...(Number.isFinite(startsAt) ? { observedAt: startsAt } : {}),
  };
}

/** A firing alert of the sensor-fault rule, or undefined for any other alert. */
function sensorFaultAlert(raw: unknown): GrafanaAlert | undefined {
  const parsed = grafanaAlert.safeParse(raw);
  const alert = parsed.success ? parsed.data : undefined;
  return alert?.labels.alertname === SENSOR_FAULT_ALERT.alertName && alert.status === 'firing' ? alert : undefined;
}

/**
 * A sensor fault is recorded (an annotation of its deployment, on the console's charts) and logged, never a retrain.
 * Grafana repeats a notification while the alert fires: one annotation per firing (fingerprint and start time).
 */
async function recordSensorFaultAlert(deps: RetrainRouteDeps, alert: GrafanaAlert): Promise<AlertResult> {
  const name = SENSOR_FAULT_ALERT.alertName;
  const deployment = alert.labels.deployment ?? null;
  const firing = `firing:${alert.fingerprint ?? JSON.stringify(alert.labels)}@${alert.startsAt ?? ''}`;
  deps.log?.warn({ alert: name, labels: alert.labels }, 'Grafana: suspect rover lasers (recorded, never a retrain)');
  const known = (await deps.registry.listAnnotations({ ...(deployment ? { deployment } : {}), limit: 1000 })).some((a) =>
    a.tags.includes(firing),
  );
  if (!known) {
    await deps.registry.addAnnotation({
      time:
        alert.startsAt && Number.isFinite(Date.parse(alert.startsAt)) ? new Date(alert.startsAt).toISOString() : new Date().toISOString(),
      text: `suspect rover laser${deployment ? ` on ${deployment}` : ''} (Grafana ${name}): its frames are left out until cleared`,
      tags: ['sensor-fault', 'grafana', firing],
      deployment,
      by: 'grafana',
    });
  }
  return {
    alert: name,
    status: 200,
    outcome: 'ignored',
    reason: `sensor fault ${known ? 'recorded already' : 'recorded'}: never a retrain`,
  };
}

const zip = <A, B>(as: A[], bs: B[]): [A, B][] => as.map((a, i) => [a, bs[i]]);
