import { withRetrains } from '../core/drift/checkRetrains.js';
import { everyBucket, summaryOf, type BucketWindow, type MeasurementStore } from '../core/stores/measurements.js';
import { FRAME_ID_PATTERN, frameIdOf, frameImageKey } from '../core/stores/objectKeys.js';
import { ObjectNotFoundError, type ObjectStore } from '../core/stores/objects.js';
import { fixedVersionOf, type RegistryStore, type RetrainRequest } from '../core/stores/registry.js';
import { notFound } from './errors.js';
import { runLinks } from './retrainRequests.js';
import type { TemporalUi } from './temporal/links.js';

/** What the console's pages read: the registry and the measurements, never Temporal. */
export interface DeploymentReadDeps {
  registry: RegistryStore;
  measurements: MeasurementStore;
  objects: ObjectStore;
  temporalUi: TemporalUi;
}

const MINUTE = 60_000;
/** The fleet page's windows: mean errors of the last and the previous 5 minutes, a sparkline of 30 one-minute points. */
const RECENT_MS = 5 * MINUTE;
const SPARKLINE_MS = 30 * MINUTE;

async function deploymentOrNotFound(registry: RegistryStore, id: string) {
  const deployment = await registry.getDeployment(id);
  if (!deployment) throw notFound(`deployment "${id}"`);
  return deployment;
}

/**
 * One page of the fleet, ordered by id after `after`: each deployment's serving, rovers and recent numbers. The
 * numbers of the whole page come from one `fleetActivity` call (a few grouped queries), whatever its size.
 */
export async function fleetPage(deps: DeploymentReadDeps, page: { limit: number; after?: string; now?: number }) {
  const now = page.now ?? Date.now();
  const all = await deps.registry.listDeployments();
  const rest = page.after === undefined ? all : all.filter((d) => d.id > page.after!);
  const deployments = rest.slice(0, page.limit);
  const window: BucketWindow = { since: now - SPARKLINE_MS, until: now, stepMs: MINUTE };
  const [clients, activity, latest, faults] = await Promise.all([
    deps.registry.listClients(),
    deps.measurements.fleetActivity(
      deployments.map((d) => d.id),
      window,
    ),
    latestVersions(deps.registry, [...new Set(deployments.map((d) => d.modelName))]),
    deps.registry.listSensorFaults({ open: true, limit: 1000 }),
  ]);
  const rows = deployments.map((d) => {
    const { points, lastFrameAt, lastDrift } = activity.get(d.id) ?? { points: [], lastFrameAt: null, lastDrift: null };
    const sparkline = everyBucket(points, window);
    const last5m = summaryOf(sparkline.slice(-RECENT_MS / MINUTE));
    const previous5m = summaryOf(sparkline.slice((-2 * RECENT_MS) / MINUTE, -RECENT_MS / MINUTE));
    return {
      id: d.id,
      modelName: d.modelName,
      modelVersion: d.modelVersion,
      servingVersion: fixedVersionOf(d) ?? latest.get(d.modelName) ?? null,
      strategy: d.strategy,
      rollout: d.rollout && { stage: d.rollout.stage, candidateVersion: d.rollout.candidateVersion, currentVersion: d.currentVersion },
      rovers: clients.filter((c) => c.deploymentId === d.id).map((c) => c.id),
      suspectRovers: [...new Set(faults.filter((f) => f.deployment === d.id).map((f) => f.client))].sort(),
      framesLast5m: last5m.frames,
      framesPerSecond: last5m.frames / (RECENT_MS / 1000),
      meanError: { last5m: last5m.meanError, previous5m: previous5m.meanError },
      lastFrameAt,
      lastDrift,
      sparkline: sparkline.map((p) => ({ time: p.time, meanError: p.meanError, frames: p.frames })),
    };
  });
  return { at: now, deployments: rows, next: rest.length > page.limit ? deployments.at(-1)!.id : null };
}

async function latestVersions(registry: RegistryStore, models: string[]) {
  const versions = await Promise.all(models.map(async (m) => [m, (await registry.getLatestModelVersion(m))?.version] as const));
  return new Map(versions.filter((v): v is readonly [string, number] => v[1] !== undefined));
}

/**
 * A deployment's frames newest first, `limit` at most, before `before` (epoch ms, exclusive), and the `before` of the
 * next page (null: none older). A page never ends inside a millisecond that holds more frames: those start the next.
 */
export async function framesPage(deps: DeploymentReadDeps, deploymentId: string, page: { limit: number; before?: number }) {
  await deploymentOrNotFound(deps.registry, deploymentId);
  let frames = await deps.measurements.recentFrames(deploymentId, { ...page, limit: page.limit + 1 });
  const faults = (await deps.registry.listSensorFaults({ deployment: deploymentId, limit: 1000 })).map((f) => ({
    client: f.client,
    since: Date.parse(f.since),
    until: f.clearedAt === null ? Infinity : Date.parse(f.clearedAt),
  }));
  let next: number | null = null;
  if (frames.length > page.limit) {
    const boundary = frames[page.limit - 1].time;
    const splitsMillisecond = frames[page.limit].time === boundary;
    frames = frames.slice(0, page.limit);
    const newer = frames.filter((f) => f.time > boundary);
    // More than a page in one millisecond cannot be split there: the rest of it is left out.
    if (splitsMillisecond && newer.length > 0) [frames, next] = [newer, boundary + 1];
    else next = boundary;
  }
  const base = `/deployments/${encodeURIComponent(deploymentId)}/frames`;
  return {
    frames: frames.map((f) => {
      const id = frameIdOf(deploymentId, f.imageKey);
      return {
        id,
        time: f.time,
        client: f.client,
        modelVersion: f.modelVersion,
        prediction: f.prediction,
        sensorValue: f.sensorValue,
        error: f.error,
        latencyMs: f.latencyMs,
        image: id === null ? null : `${base}/${id}/image`,
        sensorStatus: f.sensorStatus,
        // Inside a sensor fault of its rover: kept, but left out of training, drift and rollout evidence.
        suspect: faults.some((x) => x.client === f.client && f.time >= x.since && f.time < x.until),
      };
    }),
    next: next === null ? null : new Date(next).toISOString(),
  };
}

/** A frame's JPEG from the object store: not found for an unknown deployment, a malformed id, or an image gone. */
export async function frameImage(deps: DeploymentReadDeps, deploymentId: string, frameId: string): Promise<Buffer> {
  await deploymentOrNotFound(deps.registry, deploymentId);
  if (!FRAME_ID_PATTERN.test(frameId)) throw notFound(`frame "${frameId}"`);
  try {
    return await deps.objects.get(frameImageKey(deploymentId, frameId));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) throw notFound(`frame "${frameId}" of deployment "${deploymentId}"`);
    throw err;
  }
}

/** A deployment's frames in buckets, every bucket of the window present (empty ones with no means). */
export async function deploymentSeries(deps: DeploymentReadDeps, deploymentId: string, window: BucketWindow) {
  await deploymentOrNotFound(deps.registry, deploymentId);
  const points = everyBucket(await deps.measurements.series(deploymentId, window), window);
  return {
    points: points.map(({ time, frames, meanError, meanPrediction, meanSensor }) => ({
      time,
      frames,
      meanError,
      meanPrediction,
      meanSensor,
    })),
  };
}

/** A request is recorded after its check, by a worker whose clock may differ from the checking one's by this much. */
const CLOCK_SKEW_MS = 10 * MINUTE;

/**
 * A deployment's drift checks, newest first, each with the retrain request it recorded (or why it recorded none),
 * and for a request the run that acts on it (a duplicate's: the run of the request it repeats) with its links and the
 * version that run registered, if any yet.
 */
export async function driftChecksWithRetrains(
  deps: Pick<DeploymentReadDeps, 'registry' | 'measurements' | 'temporalUi'>,
  deploymentId: string,
  query: { since?: number; limit: number },
) {
  await deploymentOrNotFound(deps.registry, deploymentId);
  const checks = await deps.measurements.driftChecks(deploymentId, query);
  const drifted = checks.filter((c) => c.verdict === 'drift');
  if (drifted.length === 0) return withRetrains(checks, []);
  const since = new Date(Math.min(...drifted.map((c) => c.time)) - CLOCK_SKEW_MS).toISOString();
  const models = [...new Set(drifted.map((c) => c.modelName))];
  const requests = (
    await Promise.all(models.map((modelName) => deps.registry.listRetrainRequests({ modelName, trigger: 'drift-monitor', since })))
  ).flat();
  const byId = new Map(requests.map((r) => [r.id, r]));
  const actingRequest = async (request: RetrainRequest) => {
    if (request.duplicateOf === null) return request;
    const original = byId.get(request.duplicateOf) ?? (await deps.registry.getRetrainRequest(request.duplicateOf));
    return original ?? request;
  };
  const versionsOf = new Map(await Promise.all(models.map(async (m) => [m, await deps.registry.listModelVersions(m)] as const)));
  return Promise.all(
    withRetrains(checks, requests).map(async (check) => {
      if (!check.retrain.asked) return check;
      const acting = await actingRequest(byId.get(check.retrain.requestId)!);
      const { workflowId, runId } = acting;
      const registered = versionsOf.get(acting.modelName)?.find((v) => v.workflowId === workflowId && v.runId === runId);
      return {
        ...check,
        retrain: {
          ...check.retrain,
          links: workflowId && runId ? runLinks({ temporalUi: deps.temporalUi }, workflowId, runId) : null,
          version: registered?.version ?? null,
        },
      };
    }),
  );
}
