/** A type as the API sends it: every time is an ISO 8601 string (api/isoTimes.ts). */
export type { Wire } from '../contracts/http/wireTimes.js';
import type { z } from 'zod';
import type {
  annotationAnswerSchema,
  annotationListAnswerSchema,
  createdViewerAnswerSchema,
  sessionAnswerSchema,
  viewerListAnswerSchema,
} from '../contracts/http/access.js';
import type {
  clientAnswerSchema,
  clientAssignmentAnswerSchema,
  clientListAnswerSchema,
  clientSelfAnswerSchema,
  createdClientAnswerSchema,
} from '../contracts/http/clients.js';
import type {
  parkingRunAnswerSchema,
  parkingRunListAnswerSchema,
  parkingRunReportSchema,
  parkingSummaryAnswerSchema,
} from '../contracts/http/parking.js';
import type {
  deploymentAnswerSchema,
  deploymentDetailAnswerSchema,
  deploymentListAnswerSchema,
  rollbackAnswerSchema,
  rolloutListAnswerSchema,
  rolloutRunAnswerSchema,
  rolloutSignalAnswerSchema,
  rolloutStatusAnswerSchema,
  servingHistoryAnswerSchema,
} from '../contracts/http/deployments.js';
import type { livenessAnswerSchema, readinessAnswerSchema, replicaReadinessAnswerSchema } from '../contracts/http/health.js';
import type {
  deploymentStatsAnswerSchema,
  driftChecksAnswerSchema,
  fleetAnswerSchema,
  framesAnswerSchema,
  histogramAnswerSchema,
  meansAnswerSchema,
  seriesAnswerSchema,
} from '../contracts/http/measurements.js';
import type {
  modelAnswerSchema,
  modelDetailAnswerSchema,
  modelListAnswerSchema,
  referenceProfileSchema,
  retrainRequestListAnswerSchema,
  trialDetailAnswerSchema,
  trialListAnswerSchema,
  versionDetailAnswerSchema,
  versionListAnswerSchema,
} from '../contracts/http/models.js';
import type { monitorAnswerSchema, monitorCheckAnswerSchema } from '../contracts/http/monitor.js';
import type { monitorConfigWire } from '../contracts/http/registry.js';
import type { rerunAnswerSchema, retrainAnswerSchema, trainingRunAnswerSchema, webhookAnswerSchema } from '../contracts/http/retrain.js';
import type { assignment, deploymentPatch, newClient, newDeployment, rollbackBody, trainingConfigSchema } from '../api/routes/admin.js';
import type { grafanaWebhook, manualRequest, rerunRequest } from '../api/routes/retrain.js';
import type { instruction } from '../api/routes/rollout.js';
import type { newAnnotation, newViewer } from '../api/routes/access.js';
import type { deploymentSensorsAnswerSchema, sensorFaultAnswerSchema, sensorFaultListAnswerSchema } from '../contracts/http/sensors.js';
import type { clearing } from '../api/routes/sensorFaults.js';

type Route<Answer extends z.ZodType, Body extends z.ZodType | undefined = undefined> = {
  answer: z.infer<Answer>;
  body: Body extends z.ZodType ? z.input<Body> : undefined;
};

/**
 * What each route takes and answers, keyed as /openapi.json names its operations: the request schemas the routes
 * validate with and the answer schemas of contracts/http (test/unit/apiClient.test.ts checks each key is a route).
 */
export interface ApiRoutes {
  'GET /healthz': Route<typeof livenessAnswerSchema>;
  'GET /readyz': Route<typeof readinessAnswerSchema>;
  'GET /readyz/replica': Route<typeof replicaReadinessAnswerSchema>;
  'POST /models/:name/retrain': Route<typeof retrainAnswerSchema, typeof manualRequest>;
  'POST /webhooks/grafana': Route<typeof webhookAnswerSchema, typeof grafanaWebhook>;
  'POST /models/:name/versions/:version/rerun': Route<typeof rerunAnswerSchema, typeof rerunRequest>;
  'GET /workflows/:workflowId/runs/:runId': Route<typeof trainingRunAnswerSchema>;
  'POST /clients': Route<typeof createdClientAnswerSchema, typeof newClient>;
  'GET /clients': Route<typeof clientListAnswerSchema>;
  'GET /clients/:id': Route<typeof clientAnswerSchema>;
  'PUT /clients/:id/deployment': Route<typeof clientAssignmentAnswerSchema, typeof assignment>;
  'DELETE /clients/:id': { answer: undefined; body: undefined };
  'POST /deployments': Route<typeof deploymentAnswerSchema, typeof newDeployment>;
  'GET /deployments': Route<typeof deploymentListAnswerSchema>;
  'GET /deployments/:id': Route<typeof deploymentDetailAnswerSchema>;
  'PATCH /deployments/:id': Route<typeof deploymentAnswerSchema, typeof deploymentPatch>;
  'GET /deployments/:id/serving-history': Route<typeof servingHistoryAnswerSchema>;
  'POST /deployments/:id/rollback': Route<typeof rollbackAnswerSchema, typeof rollbackBody>;
  'DELETE /deployments/:id': { answer: undefined; body: undefined };
  'PUT /models/:name/training-config': Route<typeof modelAnswerSchema, typeof trainingConfigSchema>;
  'GET /models/:name/monitor': Route<typeof monitorAnswerSchema>;
  'PUT /models/:name/monitor': Route<typeof monitorAnswerSchema, typeof monitorConfigWire>;
  'DELETE /models/:name/monitor': Route<typeof monitorAnswerSchema>;
  'POST /models/:name/monitor/check': Route<typeof monitorCheckAnswerSchema>;
  'GET /deployments/:id/drift': Route<typeof driftChecksAnswerSchema>;
  'GET /deployments/:id/rollout': Route<typeof rolloutStatusAnswerSchema>;
  'POST /deployments/:id/rollout/:action': Route<typeof rolloutSignalAnswerSchema, typeof instruction>;
  'GET /models': Route<typeof modelListAnswerSchema>;
  'GET /models/:name': Route<typeof modelDetailAnswerSchema>;
  'GET /models/:name/versions': Route<typeof versionListAnswerSchema>;
  'GET /models/:name/versions/:version': Route<typeof versionDetailAnswerSchema>;
  'GET /models/:name/versions/:version/reference-profile': Route<typeof referenceProfileSchema>;
  'GET /models/:name/trials': Route<typeof trialListAnswerSchema>;
  'GET /models/:name/retrain-requests': Route<typeof retrainRequestListAnswerSchema>;
  'GET /trials/:id': Route<typeof trialDetailAnswerSchema>;
  'GET /deployments/:id/stats': Route<typeof deploymentStatsAnswerSchema>;
  'GET /deployments/:id/histogram': Route<typeof histogramAnswerSchema>;
  'GET /deployments/:id/means': Route<typeof meansAnswerSchema>;
  'GET /session': Route<typeof sessionAnswerSchema>;
  'POST /viewers': Route<typeof createdViewerAnswerSchema, typeof newViewer>;
  'GET /viewers': Route<typeof viewerListAnswerSchema>;
  'DELETE /viewers/:id': { answer: undefined; body: undefined };
  'POST /annotations': Route<typeof annotationAnswerSchema, typeof newAnnotation>;
  'GET /annotations': Route<typeof annotationListAnswerSchema>;
  'GET /fleet': Route<typeof fleetAnswerSchema>;
  'GET /deployments/:id/frames': Route<typeof framesAnswerSchema>;
  'GET /deployments/:id/series': Route<typeof seriesAnswerSchema>;
  'GET /rollouts': Route<typeof rolloutListAnswerSchema>;
  'GET /rollouts/:workflowId/runs/:runId': Route<typeof rolloutRunAnswerSchema>;
  'GET /sensor-faults': Route<typeof sensorFaultListAnswerSchema>;
  'POST /sensor-faults/:id/clear': Route<typeof sensorFaultAnswerSchema, typeof clearing>;
  'GET /deployments/:id/sensors': Route<typeof deploymentSensorsAnswerSchema>;
  'GET /clients/me': Route<typeof clientSelfAnswerSchema>;
  'POST /parking-runs': Route<typeof parkingRunAnswerSchema, typeof parkingRunReportSchema>;
  'GET /parking-runs': Route<typeof parkingRunListAnswerSchema>;
  'GET /deployments/:id/parking': Route<typeof parkingSummaryAnswerSchema>;
}

/** `/deployments/${string}/stats?since=1` as path segments, `['', 'deployments', string, 'stats']`. */
type Segments<P extends string> = P extends `${infer Path}?${string}` ? Split<Path> : Split<P>;
type Split<P extends string> = P extends `${infer Head}/${infer Rest}` ? [Head, ...Split<Rest>] : [P];
/** Whether given segments fit a route's: a `:param` segment takes any one segment. */
type Fits<Given extends unknown[], Pattern extends unknown[]> = Given extends [infer G, ...infer GivenRest]
  ? Pattern extends [infer P, ...infer PatternRest]
    ? (P extends `:${string}` ? true : G extends P ? true : false) extends true
      ? Fits<GivenRest, PatternRest>
      : false
    : false
  : Pattern extends []
    ? true
    : false;
/** The route a call goes to: `('GET', `/deployments/${id}`)` is `GET /deployments/:id`. */
export type RouteOf<M extends string, P extends string> = {
  [R in keyof ApiRoutes]: R extends `${M} ${infer Pattern}` ? (Fits<Segments<P>, Split<Pattern>> extends true ? R : never) : never;
}[keyof ApiRoutes];
/** What a call takes or answers; unknown for a path not known when the script is checked (a link from an answer). */
type Known<M extends string, P extends string, T extends 'answer' | 'body'> = string extends P
  ? unknown
  : [RouteOf<M, P>] extends [never]
    ? unknown
    : ApiRoutes[RouteOf<M, P>][T];

/** The API over HTTP with one bearer token, as an engineer's script (demo, bench) calls it: each answer typed by its route. */
export type ApiCall = <M extends 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', P extends string>(
  method: M,
  path: P,
  body?: Known<M, P, 'body'>,
) => Promise<Known<M, P, 'answer'>>;
import { OperatorError, unreachableReason } from '../core/commandLine.js';

/** An answer other than 2xx: one line with the call, the status and the API's error code and message. */
export class ApiAnswerError extends OperatorError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
    hint = '',
  ) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    super(`${method} ${path} -> ${status}${error ? ` ${error.code}: ${error.message}` : ` ${JSON.stringify(body)}`}${hint}`);
  }
}

/**
 * Calls the API with the token; `tokenSetting` names where the token came from, for the message when the API
 * refuses it. An unreachable API or a refused token is an OperatorError that says what to do.
 */
export function apiClient(apiUrl: string, token: string, tokenSetting = 'ADMIN_TOKEN'): ApiCall {
  return async (method, path, body) => {
    let res: Response;
    try {
      res = await fetch(apiUrl + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const reason = unreachableReason(err);
      if (reason === undefined) throw err;
      throw new OperatorError(
        `cannot reach the API at ${apiUrl} (${reason}): start it with \`npm start\`, or set API_URL (or API_PORT) to where it listens`,
      );
    }
    const text = res.status === 204 ? '' : await res.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new OperatorError(`${method} ${apiUrl}${path} -> ${res.status}, not JSON: is ${apiUrl} the API? (${text.slice(0, 80)})`);
    }
    if (res.status === 401 || res.status === 403)
      throw new ApiAnswerError(method, path, res.status, json, `; set ${tokenSetting} to the API's admin token (its ADMIN_TOKEN setting)`);
    if (!res.ok) throw new ApiAnswerError(method, path, res.status, json);
    return json;
  };
}

/** The run a retrain ask started or joined; an ask left pending (Temporal away) or a duplicate has none, and fails here. */
export function startedRun(answer: z.infer<typeof retrainAnswerSchema>): { workflowId: string; runId: string } {
  if (!answer.workflowId || !answer.runId)
    throw new Error(`retrain request ${answer.requestId} of ${answer.modelName} is ${answer.outcome}: no run to follow`);
  return { workflowId: answer.workflowId, runId: answer.runId };
}

/** Waits until the deployment's measurements hold `expected` records (the analysis runs after each answer); returns the seconds waited. */
export async function waitForRecords(
  admin: ApiCall,
  deployment: string,
  expected: number,
  timeoutMs = 300_000,
): Promise<{ seconds: number; count: number }> {
  const started = performance.now();
  for (;;) {
    const count = (await admin('GET', `/deployments/${deployment}/stats`)).stats.count;
    const seconds = (performance.now() - started) / 1000;
    if (count >= expected) return { seconds, count };
    if (seconds * 1000 > timeoutMs)
      throw new Error(`deployment ${deployment}: ${count} of ${expected} records stored after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
