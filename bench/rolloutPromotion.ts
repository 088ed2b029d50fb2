/**
 * From a version's registration to its promotion, end to end on the stack: a `shadow` deployment serves a
 * model that predicts one distance for every frame; the trained artifact is registered again as the next version
 * and its rollout started as TrainAndRegister's last step does (startRollouts); rovers drive at a fixed rate until
 * the Rollout workflow ends. Measures; asserts nothing.
 */
import path from 'node:path';
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { startRollouts } from '../activities/startRollouts.js';
import { buildModel } from '../core/ml/architectures.js';
import { loadBackend } from '../core/ml/backend.js';
import { getModelMetadata, putModel, serializeModel } from '../core/ml/modelArtifact.js';
import { rolloutPolicySchema, type RolloutPolicy } from '../core/rollout/rolloutPolicy.js';
import { openMeasurements, openObjects, type Stores } from '../core/stores/index.js';
import type { ModelVersion, RegistryStore } from '../core/stores/registry.js';
import type { EdgeFrame } from '../edge/parkingRun.js';
import type { ApiCall } from '../scripts/apiClient.js';
import type { RolloutResult } from '../workflows/rollout/contract.js';
import { duration, fixed, markdownTable } from './markdownTable.js';
import { driveOpenLoop, type SentFrame } from './openLoopRovers.js';
import { percentile } from './roverReplay.js';
import type { PromotionSettings } from './settings.js';
import type { Stack } from './stack.js';
import { createRovers } from './trainAndRegisterRun.js';

/** Rover answers by the time they were sent, between two milestones. */
export interface AnswerInterval {
  name: string;
  sent: number;
  answeredBy: Record<number, number>;
  errors: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  /** Rovers the candidate answered at least once. */
  roversAnsweredByCandidate: number;
}

export interface PromotionResults {
  deployment: string;
  policy: RolloutPolicy;
  rovers: number;
  framesPerSecond: number;
  constantMm: number;
  constantVersion: number;
  /** The constant model's mean |prediction - laser| over the recorded frames. */
  constantErrorMm: number;
  candidateVersion: number;
  registeredAt: string;
  /** The deployment's rollout-* serving changes, seconds from the registration. */
  milestones: { reason: string; at: string; seconds: number; note: unknown }[];
  /** From the registration until the bench saw the workflow's result. */
  resultSeenSeconds: number | null;
  workflowId: string;
  result: RolloutResult | null;
  /** Why there is no result (the deadline passed). */
  failure: string | null;
  intervals: AnswerInterval[];
  canary: { rovers: number; of: number; answered: number; byCandidate: number } | null;
  loadAverage: { atRegistration: number[]; atEnd: number[] };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A version of the trained model's architecture and input whose output layer always gives `mm`. */
async function registerConstantVersion(
  registry: RegistryStore,
  objects: Stores['objects'],
  trained: ModelVersion,
  mm: number,
  frames: EdgeFrame[],
): Promise<{ version: ModelVersion; errorMm: number }> {
  const metadata = await getModelMetadata(objects, trained.artifactKey);
  const { tf, name } = await loadBackend('auto');
  const model = buildModel(tf, metadata.architecture, {
    width: metadata.width,
    height: metadata.height,
    dropout: 0.1,
    learningRate: 0.001,
  });
  const output = model.layers[model.layers.length - 1];
  const [kernel] = output.getWeights();
  const unit = mm / metadata.labelMaxMm;
  output.setWeights([tf.zerosLike(kernel), tf.tensor1d([Math.log(unit / (1 - unit))])]);
  const probe = tf.randomUniform([1, metadata.height, metadata.width, 3]);
  const predicted = ((await (model.predict(probe) as import('@tensorflow/tfjs').Tensor).data())[0] ?? NaN) * metadata.labelMaxMm;
  probe.dispose();
  if (Math.abs(predicted - mm) > 0.01) throw new Error(`the constant model predicts ${predicted} mm, not ${mm}`);
  const serialized = await serializeModel(tf, model, { ...metadata, backend: name });
  model.dispose();

  const runId = `bench-constant-${mm}mm`;
  const artifactKey = `runs/${runId}/trials/0/model`;
  await putModel(objects, artifactKey, serialized);
  const labelled = frames.filter((f) => f.sensorMm !== null);
  const errorMm = labelled.reduce((sum, f) => sum + Math.abs(mm - f.sensorMm!), 0) / labelled.length;
  const lineage = {
    modelName: trained.modelName,
    artifactKey,
    artifactSha256: serialized.sha256,
    architecture: metadata.architecture,
    metrics: { test_mae_mm: errorMm },
    params: { constant_mm: mm },
    workflowId: 'bench',
    runId,
    datasetKey: trained.datasetKey,
  };
  const trial = await registry.saveTrial({ ...lineage, id: `${runId}-t0`, history: {} });
  const version = await registry.registerModelVersion({
    ...lineage,
    trialId: trial.id,
    datasetSha256: trained.datasetSha256,
    sourceDeployments: trained.sourceDeployments,
    recordCount: trained.recordCount,
    comparison: null,
  });
  return { version, errorMm };
}

/** The trained version's artifact and lineage under a run id of its own: a new registration of the same model. */
async function registerAgain(registry: RegistryStore, trained: ModelVersion): Promise<ModelVersion> {
  const { version: _version, createdAt: _createdAt, referenceProfile: _profile, ...lineage } = trained;
  return registry.registerModelVersion({ ...lineage, runId: `${trained.runId}-bench-candidate`, comparison: null });
}

function countBy<T>(items: T[], key: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function interval(name: string, sent: SentFrame[], candidate: number): AnswerInterval {
  const answered = sent.filter((s) => 'version' in s.answer);
  const latencies = answered.map((s) => s.latencyMs);
  return {
    name,
    sent: sent.length,
    answeredBy: countBy(answered, (s) => (s.answer as { version: number }).version),
    errors: countBy(
      sent.filter((s) => 'error' in s.answer),
      (s) => (s.answer as { error: string }).error,
    ),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    roversAnsweredByCandidate: new Set(
      answered.filter((s) => (s.answer as { version: number }).version === candidate).map((s) => s.clientId),
    ).size,
  };
}

export async function benchmarkPromotion(options: {
  stack: Stack;
  admin: ApiCall;
  registry: RegistryStore;
  modelName: string;
  trainedVersion: number;
  frames: EdgeFrame[];
  settings: PromotionSettings;
  log: (line: string) => void;
}): Promise<PromotionResults> {
  const { stack, admin, registry, modelName, frames, settings, log } = options;
  const policy = rolloutPolicySchema.parse(settings.policy);
  const objects = await openObjects(`file:${path.join(stack.dataDir, 'objects')}`);
  const measurements = await openMeasurements(`sqlite:${path.join(stack.dataDir, 'measurements.db')}`);
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  try {
    const trained = await registry.getModelVersion(modelName, options.trainedVersion);
    if (!trained) throw new Error(`promotion: model ${modelName} has no v${options.trainedVersion}`);
    const constant = await registerConstantVersion(registry, objects, trained, settings.constantMm, frames);
    log(
      `promotion: v${constant.version.version} predicts ${settings.constantMm} mm for every frame (${fixed(constant.errorMm)} mm from the laser on these frames)`,
    );

    const deployment = `${modelName}-promote`;
    const { deployment: created } = await admin('POST', '/deployments', {
      id: deployment,
      modelName,
      modelVersion: 'latest',
      strategy: 'shadow',
      rolloutPolicy: settings.policy,
    });
    if (created.currentVersion !== constant.version.version)
      throw new Error(`promotion: the deployment's current version is ${created.currentVersion}, not v${constant.version.version}`);
    const rovers = await createRovers(admin, deployment, settings.rovers, deployment);

    const drive = driveOpenLoop({ apiUrl: stack.apiUrl, rovers, frames, periodMs: 1000 / settings.framesPerSecond });
    let result: RolloutResult | null = null;
    let failure: string | null = null;
    let candidate: ModelVersion;
    let registeredMs: number;
    let resultSeenMs: number | null = null;
    let workflowId = '';
    let sent: SentFrame[] = [];
    const loadAtRegistration = os.loadavg();
    try {
      log(`promotion: ${settings.rovers} rovers at ${settings.framesPerSecond} frames/s each on v${constant.version.version}`);
      const warm = Date.now() + 120_000;
      await sleep(settings.warmUpSeconds * 1000);
      while (!drive.sentSoFar().some((s) => 'version' in s.answer && s.answer.version === constant.version.version)) {
        if (Date.now() > warm) throw new Error(`promotion: no answer by v${constant.version.version} within 120 s`);
        await sleep(250);
      }

      candidate = await registerAgain(registry, trained);
      registeredMs = Date.parse(candidate.createdAt);
      Object.assign(loadAtRegistration, os.loadavg());
      const started = await startRollouts({
        stores: { registry, measurements, objects },
        objectsUrl: `file:${path.join(stack.dataDir, 'objects')}`,
        mlBackend: 'auto',
        temporal: { client: async () => client, ui: { url: 'http://localhost:8233', namespace: 'default' } },
      })({ modelName, version: candidate.version });
      const ours = started.find((s) => s.deploymentId === deployment);
      if (!ours || started.length !== 1)
        throw new Error(`promotion: startRollouts started ${JSON.stringify(started)}, expected one rollout on ${deployment}`);
      workflowId = ours.workflowId;
      log(`promotion: v${candidate.version} registered, ${workflowId} started; driving until it ends`);

      const deadlineMs = (policy.shadow.maxMinutes + policy.canary.maxMinutes) * 60_000 + 120_000;
      const handle = client.workflow.getHandle(workflowId);
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        handle.result() as Promise<RolloutResult>,
        new Promise<null>((resolve) => (deadline = setTimeout(() => resolve(null), deadlineMs))),
      ]).finally(() => clearTimeout(deadline));
      if (outcome) {
        result = outcome;
        resultSeenMs = Date.now();
        log(`promotion: ${outcome.outcome} ${duration((resultSeenMs - registeredMs) / 1000)} after registration: ${outcome.reason}`);
      } else {
        failure = `no result within ${duration(deadlineMs / 1000)}`;
        await handle.signal('abort', { by: 'bench', reason: failure }).catch(() => undefined);
        log(`promotion: ${failure}; aborted`);
      }
    } finally {
      sent = await drive.stop();
    }
    const loadAtEnd = os.loadavg();

    const { history } = await admin('GET', `/deployments/${deployment}/serving-history`);
    const milestones = history
      .filter((c) => c.reason.startsWith('rollout-') && c.by === workflowId)
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
      .map((c) => ({ reason: c.reason, at: c.at, seconds: (Date.parse(c.at) - registeredMs) / 1000, note: c.note }));
    const at = (reason: string) => {
      const found = milestones.find((m) => m.reason === reason);
      return found ? Date.parse(found.at) : undefined;
    };
    const end = resultSeenMs ?? Date.now();
    const edges: [string, number | undefined][] = [
      ['before the registration', registeredMs],
      ['registration -> shadow stage', at('rollout-shadow')],
      ['shadow stage', at('rollout-canary')],
      ['canary stage', at('rollout-promoted') ?? at('rollout-rolled-back')],
      ['after the end', Infinity],
    ];
    const intervals: AnswerInterval[] = [];
    let from = -Infinity;
    for (const [name, until] of edges) {
      if (until === undefined) continue;
      intervals.push(
        interval(
          name,
          sent.filter((s) => s.sentAt >= from && s.sentAt < until),
          candidate.version,
        ),
      );
      from = until;
    }
    const canaryNote = milestones.find((m) => m.reason === 'rollout-canary')?.note as
      { canaryClients?: string[]; clients?: number } | undefined;
    const canaryInterval = intervals.find((i) => i.name === 'canary stage');
    const answered = (i: AnswerInterval) => Object.values(i.answeredBy).reduce((a, b) => a + b, 0);
    return {
      deployment,
      policy,
      rovers: settings.rovers,
      framesPerSecond: settings.framesPerSecond,
      constantMm: settings.constantMm,
      constantVersion: constant.version.version,
      constantErrorMm: constant.errorMm,
      candidateVersion: candidate.version,
      registeredAt: candidate.createdAt,
      milestones,
      resultSeenSeconds: resultSeenMs === null ? null : (end - registeredMs) / 1000,
      workflowId,
      result,
      failure,
      intervals,
      canary:
        canaryNote && canaryInterval
          ? {
              rovers: canaryNote.canaryClients?.length ?? 0,
              of: canaryNote.clients ?? settings.rovers,
              answered: answered(canaryInterval),
              byCandidate: canaryInterval.answeredBy[candidate.version] ?? 0,
            }
          : null,
      loadAverage: { atRegistration: loadAtRegistration, atEnd: loadAtEnd },
    };
  } finally {
    await connection.close();
    await measurements.close();
    await objects.close();
  }
}

const DEFAULT_POLICY = rolloutPolicySchema.parse({});

export function promotionTables(r: PromotionResults): { milestones: string; stages: string; answers: string; notes: string[] } {
  const since = (seconds: number | null | undefined) => (seconds === null || seconds === undefined ? '-' : duration(seconds));
  const seconds = (reason: string) => r.milestones.find((m) => m.reason === reason)?.seconds;
  const ended = r.milestones.find((m) => m.reason === 'rollout-promoted' || m.reason === 'rollout-rolled-back');
  const stageRows: string[][] = [['registered', r.registeredAt, since(0), '-']];
  let previous = 0;
  for (const m of r.milestones) {
    stageRows.push([m.reason, m.at, since(m.seconds), since(m.seconds - previous)]);
    previous = m.seconds;
  }
  stageRows.push([`workflow result (${r.result?.outcome ?? r.failure})`, '-', since(r.resultSeenSeconds), '-']);
  const milestones = markdownTable(
    ['step (serving change of the deployment)', 'at (registry clock)', 'since registration', 'since the step before'],
    stageRows,
  );

  const p = (value: number) => (value < 1e-3 ? value.toExponential(1) : value.toPrecision(2));
  const registered = Date.parse(r.registeredAt);
  const stages = markdownTable(
    [
      'stage',
      'last look (since registration)',
      'frames',
      'answered by the candidate',
      'pairs',
      `mean error current v${r.constantVersion}`,
      `mean error candidate v${r.candidateVersion}`,
      'p (candidate better)',
      'p (candidate worse)',
      'verdict: reason',
    ],
    (r.result?.stages ?? []).map((c) => [
      c.stage,
      since((c.at - registered) / 1000),
      String(c.frames),
      String(c.answeredByCandidate),
      String(c.comparison.pairs),
      `${fixed(c.comparison.meanErrorCurrent ?? undefined)} mm`,
      `${fixed(c.comparison.meanErrorCandidate ?? undefined)} mm`,
      p(c.comparison.pCandidateBetter),
      p(c.comparison.pCandidateWorse),
      `${c.verdict}: ${c.reason}`,
    ]),
  );

  const answers = markdownTable(
    ['frames sent (rover clock)', 'sent', 'answered (by version)', 'errors', 'p50', 'p99', 'rovers the candidate answered'],
    r.intervals.map((i) => [
      i.name,
      String(i.sent),
      Object.entries(i.answeredBy)
        .map(([version, n]) => `v${version}: ${n}`)
        .join(', ') || '0',
      Object.keys(i.errors).length ? JSON.stringify(i.errors) : '0',
      `${fixed(i.p50Ms, 0)} ms`,
      `${fixed(i.p99Ms, 0)} ms`,
      String(i.roversAnsweredByCandidate),
    ]),
  );

  const notes: string[] = [];
  if (r.canary) {
    const lastCanaryLook = r.result?.stages.find((c) => c.stage === 'canary');
    notes.push(
      `Canary: ${r.canary.rovers} of ${r.canary.of} rovers (canaryShare ${r.policy.canaryShare}); the candidate answered ${r.canary.byCandidate} of the ${r.canary.answered} frames sent during the canary stage (${fixed((100 * r.canary.byCandidate) / r.canary.answered)} %)${lastCanaryLook ? `, and ${lastCanaryLook.answeredByCandidate} of its ${lastCanaryLook.frames} stored frames at the stage's last look (${fixed((100 * lastCanaryLook.answeredByCandidate) / lastCanaryLook.frames)} %)` : ''}.`,
    );
  }
  const shadowAt = seconds('rollout-shadow');
  if (shadowAt !== undefined) {
    const d = DEFAULT_POLICY;
    const atLeast = shadowAt + (d.shadow.minMinutes + d.canary.minMinutes) * 60;
    const defaultCanaryRovers = Math.floor(d.canaryShare * r.rovers + 1e-9);
    const shadowTook = (seconds('rollout-canary') ?? NaN) - shadowAt;
    const canaryTook = (ended?.seconds ?? NaN) - (seconds('rollout-canary') ?? NaN);
    notes.push(
      `With the default policy (shadow minMinutes ${d.shadow.minMinutes}, canary minMinutes ${d.canary.minMinutes}, checkSeconds ${d.checkSeconds}, canaryShare ${d.canaryShare}) the same evidence promotes no earlier than ${duration(atLeast)} after registration: each stage advances at its first check after its minimum minutes, and here each decided within ${duration(shadowTook)} (shadow) and ${duration(canaryTook)} (canary), far inside them; the minimum minutes, not the frames, set the time. With ${r.rovers} rovers its canary would hold floor(${d.canaryShare} x ${r.rovers}) = ${defaultCanaryRovers} rover${defaultCanaryRovers === 1 ? '' : 's'}${defaultCanaryRovers === 0 ? ' and judge on the shadow evidence alone' : ''}.`,
    );
  }
  return { milestones, stages, answers, notes };
}
