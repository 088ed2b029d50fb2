/**
 * The closed-loop demo, against a running system and through HTTP only, as rovers would: phase 1
 * collects data with no model and an engineer asks for the first version; from then on nobody asks.
 * Each later phase changes the world, the drift monitor (a Temporal Schedule per model, on by default)
 * finds it, asks for the retrain itself, and the new version is measured. A control phase changes
 * nothing (same floor, new seed) and must not fire. Prints the thesis's table (docs/EXPERIMENT.md)
 * with our numbers and what the monitor saw; exits 0 only if every retrain was the monitor's, every
 * one lowered the error, and nothing fired where nothing changed. Deployments roll new versions out (shadow,
 * then a canary of one of the two rovers): each retrain's version is promoted only on the laser's evidence,
 * and the demo prints every rollout's stages. Last, an engineer's mistaken retrain (the first floor's frames only)
 * must be rolled back by its rollout, the rovers never leaving the version they had.
 */
import { readFileSync } from 'node:fs';
import { createRng } from '../core/random.js';
import { renderFrame } from '../edge/camera.js';
import { driveParkingRuns } from '../edge/cli.js';
import { getPreset } from '../edge/presets.js';
import { RoverClient } from '../edge/roverClient.js';
import { deploymentStrategySchema, type RolloutPolicyInput } from '../core/rollout/rolloutPolicy.js';
import type { DriftCheckRecord as StoredDriftCheck } from '../core/drift/driftReport.js';
import type { RolloutResult as WorkflowRolloutResult, StageCheck as WorkflowStageCheck } from '../workflows/rollout/contract.js';
import type { ArchitectureName } from '../core/ml/architectures.js';
import type { TrainingConfig } from '../core/training/trainingConfig.js';
import { apiClient, startedRun, waitForRecords, type Wire } from './apiClient.js';
import { parkingTrial, tallyCell, type ParkingTally } from './demoParking.js';
import { outcomeLine, waitForTrainingRun } from './trainingProgress.js';
import { OperatorError, parseCommandLine, runCommand } from '../core/commandLine.js';

// As the API sends them: every time is an ISO 8601 string.
type DriftCheckRecord = Wire<StoredDriftCheck>;
type RolloutResult = Wire<WorkflowRolloutResult>;
type StageCheck = Wire<WorkflowStageCheck>;

const USAGE = readFileSync(new URL('demo-usage.txt', import.meta.url), 'utf8').trimEnd();

const env = process.env;
const apiUrl = env.API_URL ?? `http://127.0.0.1:${env.API_PORT ?? 3000}`;
const adminToken = env.ADMIN_TOKEN ?? 'dev-admin-token';
const settings = {
  phases: Number(env.DEMO_PHASES ?? 3),
  control: env.DEMO_CONTROL !== '0',
  runsPerPhase: Number(env.DEMO_RUNS ?? 20),
  validationRuns: Number(env.DEMO_VALIDATION_RUNS ?? 8),
  /** Parking runs of the agent per table cell (laser alone, model before and after the retrain); 0: none. */
  parkingRuns: Number(env.DEMO_PARKING_RUNS ?? 8),
  architecture: env.DEMO_ARCHITECTURE ?? 'compact',
  width: Number(env.DEMO_WIDTH ?? 64),
  height: Number(env.DEMO_HEIGHT ?? 48),
  epochs: (env.DEMO_EPOCHS ?? '30').split(',').map(Number),
  batchSizes: (env.DEMO_BATCH_SIZES ?? '32,64').split(',').map(Number),
  dropouts: (env.DEMO_DROPOUTS ?? '0.1,0.2').split(',').map(Number),
  /** The training budget switches (earlyStopping, halving, warmStart), as JSON; unset: the training config's defaults. */
  budget: env.DEMO_BUDGET ? (JSON.parse(env.DEMO_BUDGET) as Pick<TrainingConfig, 'earlyStopping' | 'halving' | 'warmStart'>) : {},
  /** Unset: the monitor's defaults (a check every 60 s). */
  monitorIntervalSeconds: env.DEMO_MONITOR_INTERVAL ? Number(env.DEMO_MONITOR_INTERVAL) : undefined,
  /** How long a phase waits for the monitor to ask. */
  detectionTimeoutMs: Number(env.DEMO_DETECTION_TIMEOUT_SECONDS ?? 600) * 1000,
  /** How the phase deployments take up new versions: shadow (then canary), canary, ab, bandit, or direct. */
  strategy: deploymentStrategySchema.parse(env.DEMO_STRATEGY ?? 'shadow'),
  /** Rovers taking turns frame by frame: two (one can be a canary), four for the bandit (it moves one of them back and forth). */
  rovers: Number(env.DEMO_ROVERS ?? (env.DEMO_STRATEGY === 'bandit' ? 4 : 2)),
  /** After the phases, a mistaken retrain (the first floor's frames only) that the rollout must roll back. */
  mistake: env.DEMO_MISTAKE !== '0',
  /** How long a phase waits for its rollout to decide. */
  rolloutTimeoutMs: Number(env.DEMO_ROLLOUT_TIMEOUT_SECONDS ?? 1200) * 1000,
};
/**
 * Stages sized to the demo's pace: 100 paired frames each, no minimum time; one of the two rovers in the canary. The A/B
 * test gives half the rovers the candidate for a minute; the bandit looks every 5 s for half a minute at least.
 */
const ROLLOUT_POLICY: RolloutPolicyInput = {
  canaryShare: 0.5,
  shadow: { minFrames: 100, minMinutes: 0, maxMinutes: 10 },
  canary: { minFrames: 100, minMinutes: 0, maxMinutes: 10 },
  checkSeconds: 5,
  ab: { share: 0.5, minFrames: 100, minutes: 1 },
  bandit: { floorShare: 0.25, minFrames: 100, minMinutes: 0.5, maxMinutes: 10 },
};
const model = env.DEMO_MODEL ?? `distance-${Date.now().toString(36)}`;
/** The rovers take turns frame by frame, so a canary can hold one of them. */
const clientIds = Array.from(
  { length: Math.max(2, settings.rovers) },
  (_, i) => `rover-${model}${i ? `-${String.fromCharCode(97 + i)}` : ''}`,
);
/** The stage after the shadow stage (canary), or the strategy's only one (ab, bandit): the second group of rollout columns. */
const answeringStage = settings.strategy === 'ab' || settings.strategy === 'bandit' ? settings.strategy : 'canary';

interface Phase {
  preset: string;
  change: string;
  drift: string;
}
const PHASES: Phase[] = [
  { preset: 'beige-250', change: 'beige floor, 0-250 mm, straight', drift: 'none (first model v1)' },
  { preset: 'beige-350', change: 'range extended to 350 mm', drift: 'label shift' },
  { preset: 'green-350', change: 'floor colour beige -> green', drift: 'covariate shift' },
  { preset: 'green-angled-350', change: 'approach at up to 30 degrees', drift: 'concept drift' },
  { preset: 'red-350', change: 'floor beige -> red', drift: 'covariate shift' },
  // Never seen by the project before: the band rule on mean saturation stays quiet on it.
  { preset: 'checker-350', change: 'unseen floor: checkerboard, mean colour like beige', drift: 'covariate shift the band rule misses' },
];

const api = apiClient(apiUrl, adminToken);

const timings: [string, number][] = [];
async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([label, (Date.now() - started) / 1000]);
  }
}

/**
 * A marker in the console (POST /annotations, as Grafana's annotations): what each phase did and what came of it,
 * left there for whoever looks after the demo. A marker that cannot be written is a warning, not a failure.
 */
async function annotate(text: string, deployment?: string) {
  try {
    await api('POST', '/annotations', { text, tags: ['demo'], by: 'demo', ...(deployment ? { deployment } : {}) });
  } catch (err) {
    console.warn(`demo: could not leave the marker "${text}" in the console: ${(err as Error).message}`);
  }
}

async function waitUntilReady() {
  const deadline = Date.now() + 120_000;
  let lastProblem = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${apiUrl}/readyz`);
      if (res.ok) return;
      lastProblem = `/readyz answers ${res.status}`;
    } catch (err) {
      // Not listening yet: try again.
      lastProblem = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new OperatorError(`the API at ${apiUrl} was not ready within 120 s (${lastProblem}): is it serving (npm start)?`);
}

/** Drives parking runs and waits until the API has recorded every frame it accepted. */
async function drive(deployment: string, preset: string, runs: number, seed: number, tokens: string[]) {
  const before = (await api('GET', `/deployments/${deployment}/stats`)).stats.count as number;
  const rovers = clientIds.map((clientId, i) => new RoverClient({ apiUrl, clientId, token: tokens[i] }));
  // Each rover drives one run at a time: frames of two runs taking turns on one rover read as a laser jumping back and
  // forth (the sensor health check flagged a healthy rover as spiking on green, which held back the canary's evidence).
  const summary = await driveParkingRuns({
    apiUrl,
    clientId: clientIds[0],
    token: tokens[0],
    rovers,
    preset,
    runs,
    seed,
    log: () => {},
  });
  const recorded = summary.answered + (summary.errors.no_model ?? 0);
  const unexpected = Object.entries(summary.errors).filter(([code]) => code !== 'no_model');
  if (unexpected.length) throw new Error(`rover saw errors: ${JSON.stringify(Object.fromEntries(unexpected))}`);
  await waitForRecords(api, deployment, before + recorded, 60_000);
  return summary;
}

/**
 * Parking success: the agent drives runs at the camera's 4 frames/s, steered by `mode`, and every report must be
 * stored by the API (its summary since the cell began counts them all).
 */
async function park(deployment: string, preset: string, mode: 'model' | 'laser', seed: number, tokens: string[]) {
  const since = new Date().toISOString();
  const rovers = clientIds.map((clientId, i) => ({ clientId, token: tokens[i] }));
  const tally = await parkingTrial({ apiUrl, rovers, preset, mode, runs: settings.parkingRuns, seed });
  const { groups } = await api('GET', `/deployments/${deployment}/parking?since=${encodeURIComponent(since)}`);
  const stored = groups.filter((g) => g.mode === mode).reduce((sum, g) => sum + g.runs, 0);
  if (stored !== tally.runs) throw new Error(`${deployment}: ${tally.runs} ${mode}-steered parking runs driven, ${stored} stored`);
  return tally;
}

const versionCell = (t: ParkingTally | null) =>
  t === null ? '-' : `${t.versions.length ? `v${t.versions.join(', v')}: ` : 'no model: '}${tallyCell(t)}`;

/**
 * Deployments on `latest` load a new version in the background and swap it in; until then the
 * previous one answers. Unlabelled probe frames (they never count in the error) wait for the swap,
 * so the validation measures the new version only.
 */
async function waitUntilServed(preset: string, tokens: string[], version: number) {
  const rovers = clientIds.map((clientId, i) => new RoverClient({ apiUrl, clientId, token: tokens[i] }));
  const jpeg = await renderFrame(getPreset(preset).scene, { distanceMm: 200, angleDeg: 0 }, createRng(version));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    // Every rover: after a canary, the canary's rovers had the new version before the others.
    const answers = await Promise.all(rovers.map((rover) => rover.predict({ jpeg })));
    if (answers.every((answer) => answer.ok && answer.model.version === version)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the deployment still does not serve v${version} to every rover a minute after its registration`);
}

async function meanErrorSince(deployment: string, since: number) {
  return (await api('GET', `/deployments/${deployment}/stats?since=${new Date(since).toISOString()}`)).stats as {
    meanError: number | null;
    maxError: number | null;
    count: number;
  };
}

/** Waits for a training run, printing its progress while it works and its outcome at the end. */
async function waitForRun(label: string, workflowId: string, runId: string) {
  const log = (line: string) => console.log(`demo: ${label}: ${line}`);
  const result = await waitForTrainingRun(api, { workflowId, runId }, { log });
  log(outcomeLine(result));
  return result;
}

interface MonitorAsk {
  id: number;
  trigger: string;
  outcome: string;
  workflowId: string | null;
  runId: string | null;
  createdAt: string;
  payload: { ask: DriftCheckRecord };
}

/** The drift monitor's asks for this model that acted (started or joined a run), oldest first. */
async function monitorAsks(): Promise<MonitorAsk[]> {
  const { requests } = await api('GET', `/models/${model}/retrain-requests`);
  return (requests as MonitorAsk[]).filter((r) => r.trigger === 'drift-monitor' && r.outcome !== 'duplicate').sort((a, b) => a.id - b.id);
}

/** Waits for the monitor to ask for a retrain because of `deployment`. */
async function waitForMonitorAsk(deployment: string): Promise<MonitorAsk> {
  const deadline = Date.now() + settings.detectionTimeoutMs;
  for (;;) {
    const ask = (await monitorAsks()).find((r) => r.payload.ask.deployment === deployment);
    if (ask?.runId) return ask;
    if (Date.now() > deadline) {
      const [check] = (await api('GET', `/deployments/${deployment}/drift?limit=1`)).checks as DriftCheckRecord[];
      throw new Error(
        `the drift monitor did not ask for a retrain of ${deployment} within ${settings.detectionTimeoutMs / 1000} s; last check: ${check ? `${check.verdict}: ${check.summary}` : 'none'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Waits until the monitor has checked every frame of the deployment since `since` twice, and returns those checks. */
async function checksCovering(deployment: string, frames: number, since: number): Promise<DriftCheckRecord[]> {
  const deadline = Date.now() + settings.detectionTimeoutMs;
  for (;;) {
    const { checks } = await api('GET', `/deployments/${deployment}/drift?since=${new Date(since).toISOString()}&limit=100`);
    const covering = checks.filter((c) => c.windowFrames >= frames);
    if (covering.length >= 2) return checks;
    if (Date.now() > deadline) throw new Error(`the drift monitor did not check ${deployment}'s ${frames} frames twice in time`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Drives runs on the deployment while its rollout of `version` judges the candidate; returns the rollout's result.
 * The rollout began when the training run registered the version (before the run completed).
 */
async function rollOut(deployment: string, preset: string, version: number, seed: number, tokens: string[]): Promise<RolloutResult> {
  const deadline = Date.now() + settings.rolloutTimeoutMs;
  for (let round = 0; ; round++) {
    const { workflow } = await api('GET', `/deployments/${deployment}/rollout`);
    if (workflow?.status === 'COMPLETED' && workflow.result?.candidateVersion === version) return workflow.result;
    if (workflow && !['RUNNING', 'COMPLETED', 'CONTINUED_AS_NEW'].includes(workflow.status))
      throw new Error(`the rollout of v${version} on ${deployment} ended ${workflow.status}`);
    if (Date.now() > deadline) throw new Error(`the rollout of v${version} on ${deployment} did not decide in time`);
    await drive(deployment, preset, 2, seed + round, tokens);
  }
}

/** One stage of a rollout as table cells: frames, the two versions' mean laser error on the same frames, p, verdict. */
function stageCells(check: StageCheck | undefined): string[] {
  if (!check) return ['-', '-', '-'];
  const c = check.comparison;
  const errors = c.pairs ? `${c.meanErrorCurrent!.toFixed(1)} -> ${c.meanErrorCandidate!.toFixed(1)} mm` : '-';
  const rovers = check.candidateShare === undefined ? '' : ` (${(check.candidateShare * 100).toFixed(0)}% of the rovers at the end)`;
  const share = check.stage === 'shadow' ? '' : `, ${check.answeredByCandidate} answered by the candidate${rovers}`;
  const p =
    check.verdict === 'roll-back' ? `worse: p = ${c.pCandidateWorse.toPrecision(2)}` : `better: p = ${c.pCandidateBetter.toPrecision(2)}`;
  return [`${check.frames} frames, ${c.pairs} paired${share}`, errors, `${p}: ${check.verdict}`];
}

async function registeredAt(version: number): Promise<number> {
  return Date.parse((await api('GET', `/models/${model}/versions/${version}`)).version.createdAt);
}

/** A rollout as one row: what was compared, each stage, the outcome, and how long after the registration it was decided. */
function rolloutRow(label: string, rollout: RolloutResult, registered: number): string[] {
  const [shadow, canary] = ['shadow', answeringStage].map((stage) => rollout.stages.find((c) => c.stage === stage));
  const decidedAt = Math.max(...rollout.stages.map((c) => Date.parse(c.at)));
  return [
    label,
    `v${rollout.candidateVersion} vs v${rollout.currentVersion}`,
    ...stageCells(shadow),
    ...stageCells(canary),
    rollout.outcome,
    rollout.stages.length ? `${((decidedAt - registered) / 1000).toFixed(0)} s` : '-',
  ];
}

/** The statistic that decided a check, as one short phrase. */
function decidingStatistic(check: DriftCheckRecord): string {
  const parts: string[] = [];
  if (check.performance?.drifted)
    parts.push(
      `error x${check.performance.errorRatio.toFixed(1)} (${check.performance.liveMeanErrorMm.toFixed(0)} vs ${check.performance.referenceMeanErrorMm.toFixed(0)} mm)`,
    );
  if (check.label?.drifted) parts.push(`${(check.label.outOfRangeShare * 100).toFixed(0)}% of laser readings beyond the trained range`);
  if (check.covariate?.drifted) {
    const strongest = Object.entries(check.covariate.features).sort(([, a], [, b]) => b.ks - a.ks)[0];
    parts.push(
      `${check.covariate.driftedFeatures.length}/${check.covariate.testedFeatures} features, strongest ${strongest[0]} (KS ${strongest[1].ks.toFixed(2)}, ${(strongest[1].outsideShare * 100).toFixed(0)}% outside)`,
    );
  }
  return parts.join('; ');
}

async function main() {
  const startedAt = Date.now();
  await waitUntilReady();
  console.log(
    `demo: watch it in the console: ${apiUrl}/console/ (sign in with the admin token${adminToken === 'dev-admin-token' ? ' dev-admin-token' : ''})`,
  );
  console.log(
    `demo: model "${model}", ${settings.phases} phases${settings.control ? ' + a control phase' : ''}, ${settings.runsPerPhase} parking runs per phase + ${settings.validationRuns} to validate`,
  );
  console.log(
    `demo: ${settings.architecture} CNN at ${settings.width}x${settings.height}, sweep epochs ${settings.epochs} x batch ${settings.batchSizes} x dropout ${settings.dropouts}${env.DEMO_BUDGET ? `, budget ${env.DEMO_BUDGET}` : ''}`,
  );
  const health = await (await fetch(`${apiUrl}/readyz`, { headers: { authorization: `Bearer ${adminToken}` } })).json();
  console.log(`demo: ML backend ${health.mlBackend}`);

  const deployments = PHASES.slice(0, settings.phases).map((_, i) => `${model}-phase${i + 1}`);
  const controlDeployment = `${model}-control`;
  // A deployment is created when the rovers move to it: it starts on the newest version, as a new deployment would.
  const deploy = (id: string) =>
    api('POST', '/deployments', {
      id,
      modelName: model,
      modelVersion: 'latest',
      strategy: settings.strategy,
      rolloutPolicy: ROLLOUT_POLICY,
    });
  const moveRovers = async (deploymentId: string) => {
    for (const id of clientIds) await api('PUT', `/clients/${id}/deployment`, { deploymentId });
  };
  await deploy(deployments[0]);
  const tokens: string[] = [];
  for (const [i, id] of clientIds.entries())
    tokens.push((await api('POST', '/clients', { id, name: `demo rover ${i + 1}`, deploymentId: deployments[0] })).token);
  const sweep = { epochs: settings.epochs, batchSizes: settings.batchSizes, dropouts: settings.dropouts };
  // The dataset grows with every phase: the monitor's ask brings in the deployment it found drifting.
  const configure = (dataset: string[]) =>
    api('PUT', `/models/${model}/training-config`, {
      architecture: settings.architecture as ArchitectureName,
      width: settings.width,
      height: settings.height,
      sweep,
      ...settings.budget,
      registerPolicy: 'always',
      deployments: dataset,
    });
  await configure([deployments[0]]);
  if (settings.monitorIntervalSeconds !== undefined)
    await api('PUT', `/models/${model}/monitor`, { intervalSeconds: settings.monitorIntervalSeconds });
  const monitor = await api('GET', `/models/${model}/monitor`);
  console.log(
    `demo: drift monitor ${monitor.schedule.state}: schedule ${monitor.schedule.scheduleId} checks every ${monitor.config.intervalSeconds} s, ` +
      `window ${monitor.config.windowMinutes} min (at least ${monitor.config.minFrames} frames)`,
  );

  const rows: string[][] = [];
  const parkingRows: string[][] = [];
  const detections: string[][] = [];
  const rollouts: string[][] = [];
  let passed = true;
  const fmt = (s: { meanError: number | null; maxError: number | null } | null) =>
    s === null ? '(no model)' : s.meanError === null ? '-' : `${s.meanError.toFixed(1)} mm (max ${s.maxError!.toFixed(0)})`;
  const validate = async (n: number, deployment: string, preset: string, version: number) => {
    await waitUntilServed(preset, tokens, version);
    const since = Date.now();
    await timed(`phase ${n}: validate ${settings.validationRuns} runs`, () =>
      drive(deployment, preset, settings.validationRuns, n * 1000 + 500, tokens),
    );
    return meanErrorSince(deployment, since);
  };

  for (const [i, phase] of PHASES.slice(0, settings.phases).entries()) {
    const n = i + 1;
    const deployment = deployments[i];
    if (n > 1) await deploy(deployment);
    await moveRovers(deployment);
    // Before any frame of the new world: the version that served the last one parks here (laser alone beside it).
    const parking = settings.parkingRuns
      ? {
          laser: await timed(`phase ${n}: park ${settings.parkingRuns} runs by the laser`, () =>
            park(deployment, phase.preset, 'laser', n * 1000 + 300, tokens),
          ),
          before:
            n === 1
              ? null
              : await timed(`phase ${n}: park ${settings.parkingRuns} runs by the model`, () =>
                  park(deployment, phase.preset, 'model', n * 1000 + 400, tokens),
                ),
        }
      : null;
    const collectSince = Date.now();
    await annotate(`phase ${n}: ${phase.change}: the rovers drive ${phase.preset}`, deployment);
    const collected = await timed(`phase ${n}: drive ${settings.runsPerPhase} runs (${phase.preset})`, () =>
      drive(deployment, phase.preset, settings.runsPerPhase, n * 1000, tokens),
    );
    const before = n === 1 ? null : await meanErrorSince(deployment, collectSince);

    let ask: { workflowId: string; runId: string };
    let firedBy = 'engineer (first model)';
    if (n === 1) {
      // No version serves yet, so there is no reference to drift from: the first model is asked for by hand.
      ask = startedRun(await api('POST', `/models/${model}/retrain`, { by: 'demo: first model' }));
    } else {
      const found = await timed(`phase ${n}: drift monitor detects`, () => waitForMonitorAsk(deployment));
      const check = found.payload.ask;
      firedBy = `monitor: ${check.kinds.join(' + ')}`;
      const seconds = ((Date.parse(check.time) - collectSince) / 1000).toFixed(0);
      detections.push([
        String(n),
        phase.drift,
        check.kinds.join(' + '),
        decidingStatistic(check),
        String(check.windowFrames),
        `${seconds} s`,
      ]);
      console.log(
        `demo: phase ${n}: drift monitor asked for a retrain after ${check.windowFrames} frames (${seconds} s): ${check.summary}`,
      );
      ask = { workflowId: found.workflowId!, runId: found.runId! };
      await annotate(`phase ${n}: the drift monitor asked for a retrain after ${check.windowFrames} frames: ${check.summary}`, deployment);
    }
    const result = await timed(`phase ${n}: retrain (${firedBy})`, () => waitForRun(`phase ${n}`, ask.workflowId, ask.runId));
    if (!result.registration.registered) throw new Error(`phase ${n}: no version registered: ${result.registration.reason}`);
    const version = result.registration.version as number;
    if (n > 1 && settings.strategy !== 'direct') {
      const rollout = await timed(`phase ${n}: rollout of v${version}`, () =>
        rollOut(deployment, phase.preset, version, n * 1000 + 700, tokens),
      );
      rollouts.push(rolloutRow(String(n), rollout, await registeredAt(version)));
      console.log(`demo: phase ${n}: rollout of v${version}: ${rollout.outcome}: ${rollout.reason}`);
      await annotate(`phase ${n}: rollout of v${version}: ${rollout.outcome}: ${rollout.reason}`, deployment);
      if (rollout.outcome !== 'promoted') {
        passed = false;
        rows.push([
          String(n),
          phase.change,
          phase.drift,
          fmt(before),
          `(v${version} ${rollout.outcome})`,
          `v${rollout.currentVersion}`,
          firedBy,
          ask.workflowId,
          'NO',
        ]);
        await configure(deployments.slice(0, n));
        continue;
      }
    }
    const after = await validate(n, deployment, phase.preset, version);
    if (parking) {
      const parkedAfter = await timed(`phase ${n}: park ${settings.parkingRuns} runs by v${version}`, () =>
        park(deployment, phase.preset, 'model', n * 1000 + 600, tokens),
      );
      parkingRows.push([String(n), phase.preset, tallyCell(parking.laser), versionCell(parking.before), versionCell(parkedAfter)]);
      console.log(
        `demo: phase ${n}: parking by the laser ${tallyCell(parking.laser)}; by the model before ${versionCell(parking.before)}, after ${versionCell(parkedAfter)}`,
      );
    }
    const improved = before === null || (after.meanError !== null && before.meanError !== null && after.meanError < before.meanError);
    passed &&= improved;
    rows.push([
      String(n),
      phase.change,
      phase.drift,
      fmt(before),
      fmt(after),
      `v${version}`,
      firedBy,
      `${ask.workflowId} (${result.dataset.recordCount} records, ${collected.frames} new)`,
      improved ? 'yes' : 'NO',
    ]);
    console.log(`demo: phase ${n} done: before ${fmt(before)}, after ${fmt(after)}, v${version}`);
    await annotate(`phase ${n} done: mean error before ${fmt(before)}, after ${fmt(after)} with v${version}`, deployment);
    // Later phases train on everything so far; the next drifted deployment comes in through the monitor's ask.
    await configure(deployments.slice(0, n));

    if (n === 1 && settings.control) {
      // The control: the same world with a new seed, on a deployment of its own, must not fire.
      await deploy(controlDeployment);
      await moveRovers(controlDeployment);
      const since = Date.now();
      const driven = await timed('control: drive (beige-250, new seed)', () =>
        drive(controlDeployment, PHASES[0].preset, settings.runsPerPhase, 777, tokens),
      );
      const checks = await timed('control: two checks of every frame', () => checksCovering(controlDeployment, driven.frames, since));
      const fired = checks.filter((c) => c.verdict === 'drift');
      const controlAsks = (await monitorAsks()).filter((r) => r.payload.ask.deployment === controlDeployment);
      const quiet = fired.length === 0 && controlAsks.length === 0;
      passed &&= quiet;
      const stats = await meanErrorSince(controlDeployment, since);
      rows.push([
        'control',
        'none: beige, 0-250 mm, new seed',
        'none',
        fmt(stats),
        '-',
        `v${version}`,
        quiet ? `monitor: no drift in ${checks.length} checks` : `FALSE ALARM: ${fired[0]?.summary}`,
        '-',
        quiet ? 'yes (nothing fired)' : 'NO',
      ]);
      console.log(`demo: control: ${checks.length} checks, ${fired.length} found drift, ${controlAsks.length} asks`);
      await annotate(
        `control: nothing changed; ${checks.length} checks, ${fired.length} found drift, ${controlAsks.length} asks`,
        controlDeployment,
      );
    }
  }

  if (settings.mistake && settings.strategy !== 'direct' && settings.phases > 1) {
    // An engineer retrains on the first floor's frames only: a candidate worse where the rovers drive now.
    const last = settings.phases;
    const [deployment, preset] = [deployments[last - 1], PHASES[last - 1].preset];
    const ask = startedRun(
      await api('POST', `/models/${model}/retrain`, { by: 'demo: a mistaken retrain', overrides: { deployments: [deployments[0]] } }),
    );
    const result = await timed('mistake: retrain on the first floor only', () => waitForRun('mistake', ask.workflowId, ask.runId));
    if (!result.registration.registered) throw new Error(`mistake: no version registered: ${result.registration.reason}`);
    const version = result.registration.version;
    const rollout = await timed(`mistake: rollout of v${version}`, () => rollOut(deployment, preset, version, 9000, tokens));
    const kept = (await api('GET', `/deployments/${deployment}`)).deployment.currentVersion as number;
    const safe = rollout.outcome === 'rolled-back' && kept === rollout.currentVersion;
    passed &&= safe;
    rollouts.push(rolloutRow(`mistake (${PHASES[0].preset} only)`, rollout, await registeredAt(version)));
    console.log(`demo: mistake: rollout of v${version}: ${rollout.outcome}: ${rollout.reason}; ${deployment} serves v${kept}`);
    await annotate(`mistake: a retrain on the first floor only; rollout of v${version}: ${rollout.outcome}: ${rollout.reason}`, deployment);
  }

  // Every ask must belong to a drift phase: one per phase (2..n), none for a version that serves its own world.
  const asks = await monitorAsks();
  const expected = new Set(deployments.slice(1));
  const stray = asks.filter(
    (a) => !expected.has(a.payload.ask.deployment) || asks.filter((b) => b.payload.ask.deployment === a.payload.ask.deployment).length > 1,
  );
  if (stray.length) {
    passed = false;
    for (const a of stray)
      console.log(
        `demo: FALSE ALARM: monitor asked for ${a.payload.ask.deployment} v${a.payload.ask.modelVersion}: ${a.payload.ask.summary}`,
      );
  }

  // Every rover drives a healthy laser: a sensor fault flagged in any phase is a false alarm.
  // Only this demo's deployments: with DEMO_STORES=production the stores may hold other runs' (tests use the same services).
  const ours = new Set(deployments);
  const faults = ((await api('GET', '/sensor-faults')).faults as { client: string; deployment: string; summary: string }[]).filter((f) =>
    ours.has(f.deployment),
  );
  console.log(`demo: sensor health: ${faults.length} lasers flagged suspect (${clientIds.length} healthy rovers in every phase)`);
  for (const f of faults) {
    passed = false;
    console.log(`demo: FALSE SENSOR ALARM: ${f.client} on ${f.deployment}: ${f.summary}`);
  }

  const header = [
    'phase',
    'change to the world',
    'drift type',
    'mean error before retrain',
    'after',
    'model version',
    'retrain asked by',
    'workflow id',
    'improved',
  ];
  console.log(`\n| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  if (parkingRows.length) {
    const parkingHeader = ['phase', 'world', 'parked by the laser alone', 'by the model before the retrain', 'by the model after'];
    console.log(`\n| ${parkingHeader.join(' | ')} |\n| ${parkingHeader.map(() => '---').join(' | ')} |`);
    for (const row of parkingRows) console.log(`| ${row.join(' | ')} |`);
  }
  const detectionHeader = ['phase', 'drift type', 'check that fired', 'deciding statistic', 'frames to detect', 'time to detect'];
  console.log(`\n| ${detectionHeader.join(' | ')} |\n| ${detectionHeader.map(() => '---').join(' | ')} |`);
  for (const row of detections) console.log(`| ${row.join(' | ')} |`);
  if (rollouts.length) {
    const rolloutHeader = [
      'phase',
      'candidate vs current',
      'shadow: frames',
      'shadow: error current -> candidate',
      'shadow: decision',
      `${answeringStage}: frames`,
      `${answeringStage}: error current -> candidate`,
      `${answeringStage}: decision`,
      'outcome',
      'registration to decision',
    ];
    console.log(`\n| ${rolloutHeader.join(' | ')} |\n| ${rolloutHeader.map(() => '---').join(' | ')} |`);
    for (const row of rollouts) console.log(`| ${row.join(' | ')} |`);
  }
  console.log('\ntimings:');
  for (const [label, s] of timings) console.log(`  ${label.padEnd(52)} ${s.toFixed(1)} s`);
  console.log(`  ${'total'.padEnd(52)} ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  console.log(
    passed
      ? '\ndemo: every retrain was asked for by the drift monitor and lowered the error; nothing fired where nothing changed' +
          (settings.mistake && settings.strategy !== 'direct' ? '; the mistaken retrain was rolled back' : '')
      : '\ndemo: FAILED: see the table (a retrain that did not lower the error, or a false alarm)',
  );
  return passed ? 0 : 1;
}

runCommand(USAGE, async () => {
  parseCommandLine(process.argv.slice(2), {});
  return main();
});
