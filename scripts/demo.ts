/**
 * The closed-loop demo, against a running system and through HTTP only, as rovers and
 * Grafana would: phase 1 collects data with no model, v1 is trained and validated, then
 * each later phase changes the world, is measured with the current model, retrained
 * (manually, or by a Grafana-format alert posted to the webhook) and measured again.
 * Prints the thesis's table (docs/EXPERIMENT.md) with our numbers; exits 0 only if every retrain lowered the error.
 */
import { randomUUID } from 'node:crypto';
import { DRIFT_RULE, DRIFT_RULE_SUMMARY, isOutsideBand } from '../core/features/driftRule.js';
import { createRng } from '../core/random.js';
import { renderFrame } from '../edge/camera.js';
import { driveParkingRuns } from '../edge/cli.js';
import { getPreset } from '../edge/presets.js';
import { RoverClient } from '../edge/roverClient.js';
import { apiClient, waitForRecords } from './apiClient.js';

const env = process.env;
const apiUrl = env.API_URL ?? `http://127.0.0.1:${env.API_PORT ?? 3000}`;
const adminToken = env.ADMIN_TOKEN ?? 'dev-admin-token';
const webhookToken = env.WEBHOOK_TOKEN ?? 'dev-webhook-token';
const settings = {
  phases: Number(env.DEMO_PHASES ?? 3),
  runsPerPhase: Number(env.DEMO_RUNS ?? 20),
  validationRuns: Number(env.DEMO_VALIDATION_RUNS ?? 8),
  architecture: env.DEMO_ARCHITECTURE ?? 'compact',
  width: Number(env.DEMO_WIDTH ?? 64),
  height: Number(env.DEMO_HEIGHT ?? 48),
  epochs: (env.DEMO_EPOCHS ?? '30').split(',').map(Number),
  batchSizes: (env.DEMO_BATCH_SIZES ?? '32,64').split(',').map(Number),
  dropouts: (env.DEMO_DROPOUTS ?? '0.1,0.2').split(',').map(Number),
};
const model = env.DEMO_MODEL ?? `distance-${Date.now().toString(36)}`;
const clientId = `rover-${model}`;

interface Phase {
  preset: string;
  change: string;
  drift: string;
  retrain: 'manual' | 'alert';
}
const PHASES: Phase[] = [
  { preset: 'beige-250', change: 'beige floor, 0-250 mm, straight', drift: 'none (first model v1)', retrain: 'manual' },
  { preset: 'beige-350', change: 'range extended to 350 mm', drift: 'label shift', retrain: 'manual' },
  { preset: 'green-350', change: 'floor colour beige -> green', drift: 'covariate shift', retrain: 'alert' },
  { preset: 'green-angled-350', change: 'approach at up to 30 degrees', drift: 'concept drift', retrain: 'manual' },
  { preset: 'red-350', change: 'floor beige -> red, alert-triggered', drift: 'covariate shift, automatic', retrain: 'alert' },
];

const api = apiClient(apiUrl, adminToken);
const webhook = apiClient(apiUrl, webhookToken);

const timings: [string, number][] = [];
async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings.push([label, (Date.now() - started) / 1000]);
  }
}

async function waitUntilReady() {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${apiUrl}/readyz`)).ok) return;
    } catch {
      // Not listening yet: try again.
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`API at ${apiUrl} is not ready`);
}

/** Drives parking runs and waits until the API has recorded every frame it accepted. */
async function drive(deployment: string, preset: string, runs: number, seed: number, token: string) {
  const before = (await api('GET', `/deployments/${deployment}/stats`)).stats.count as number;
  const summary = await driveParkingRuns({ apiUrl, clientId, token, preset, runs, seed, concurrency: 2, log: () => {} });
  const recorded = summary.answered + (summary.errors.no_model ?? 0);
  const unexpected = Object.entries(summary.errors).filter(([code]) => code !== 'no_model');
  if (unexpected.length) throw new Error(`rover saw errors: ${JSON.stringify(Object.fromEntries(unexpected))}`);
  await waitForRecords(api, deployment, before + recorded, 60_000);
  return summary;
}

/**
 * Deployments on `latest` load a new version in the background and swap it in; until then the
 * previous one answers. Unlabelled probe frames (they never count in the error) wait for the swap,
 * so the validation measures the new version only.
 */
async function waitUntilServed(preset: string, token: string, version: number) {
  const rover = new RoverClient({ apiUrl, clientId, token });
  const jpeg = await renderFrame(getPreset(preset).scene, { distanceMm: 200, angleDeg: 0 }, createRng(version));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const answer = await rover.predict({ jpeg });
    if (answer.ok && answer.model.version === version) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the deployment still does not serve v${version} a minute after its registration`);
}

async function meanErrorSince(deployment: string, since: number) {
  return (await api('GET', `/deployments/${deployment}/stats?since=${since}`)).stats as {
    meanError: number | null;
    maxError: number | null;
    count: number;
  };
}

async function waitForRun(workflowId: string, runId: string) {
  for (;;) {
    const run = await api('GET', `/workflows/${workflowId}/runs/${runId}`);
    if (run.status === 'COMPLETED') return run.result;
    if (run.status !== 'RUNNING') throw new Error(`training run ${workflowId}/${runId} ended ${run.status}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function main() {
  const startedAt = Date.now();
  await waitUntilReady();
  console.log(
    `demo: model "${model}", ${settings.phases} phases, ${settings.runsPerPhase} parking runs per phase + ${settings.validationRuns} to validate`,
  );
  console.log(
    `demo: ${settings.architecture} CNN at ${settings.width}x${settings.height}, sweep epochs ${settings.epochs} x batch ${settings.batchSizes} x dropout ${settings.dropouts}`,
  );
  const health = await (await fetch(`${apiUrl}/readyz`, { headers: { authorization: `Bearer ${adminToken}` } })).json();
  console.log(`demo: ML backend ${health.mlBackend}`);

  const deployments = PHASES.slice(0, settings.phases).map((_, i) => `${model}-phase${i + 1}`);
  for (const id of deployments) await api('POST', '/deployments', { id, modelName: model, modelVersion: 'latest' });
  const { token } = await api('POST', '/clients', { id: clientId, name: 'demo rover', deploymentId: deployments[0] });
  const sweep = { epochs: settings.epochs, batchSizes: settings.batchSizes, dropouts: settings.dropouts };
  const trainingConfig = {
    architecture: settings.architecture,
    width: settings.width,
    height: settings.height,
    sweep,
    registerPolicy: 'always' as const,
  };

  const rows: string[][] = [];
  let allImproved = true;
  for (const [i, phase] of PHASES.slice(0, settings.phases).entries()) {
    const n = i + 1;
    const deployment = deployments[i];
    await api('PUT', `/clients/${clientId}/deployment`, { deploymentId: deployment });

    const collectSince = Date.now();
    const collected = await timed(`phase ${n}: drive ${settings.runsPerPhase} runs (${phase.preset})`, () =>
      drive(deployment, phase.preset, settings.runsPerPhase, n * 1000, token),
    );
    const before = n === 1 ? null : await meanErrorSince(deployment, collectSince);

    // The dataset grows with every phase; an alert brings its own deployment in through its label.
    const configured = phase.retrain === 'alert' ? deployments.slice(0, i) : deployments.slice(0, n);
    await api('PUT', `/models/${model}/training-config`, {
      ...trainingConfig,
      deployments: configured.length ? configured : deployments.slice(0, n),
    });
    const started = await timed(`phase ${n}: retrain (${phase.retrain === 'alert' ? 'Grafana alert webhook' : 'manual'})`, async () => {
      let ask;
      if (phase.retrain === 'alert') {
        // What Grafana's rule evaluates (grafana/ is generated from the same DRIFT_RULE).
        const { windows } = await api(
          'GET',
          `/deployments/${deployment}/means?field=${DRIFT_RULE.field}&windowMs=${DRIFT_RULE.windowMinutes * 60_000}&since=${collectSince}`,
        );
        const mean = windows.at(-1)?.mean as number | undefined;
        if (mean === undefined || !isOutsideBand(mean))
          throw new Error(`phase ${n}: the drift rule would not fire (${DRIFT_RULE.field} mean ${mean})`);
        console.log(
          `demo: phase ${n}: ${DRIFT_RULE.windowMinutes}-minute mean ${DRIFT_RULE.field} = ${mean.toFixed(1)}, outside ${DRIFT_RULE.band.min}..${DRIFT_RULE.band.max}: alert fires`,
        );
        const alert = {
          receiver: 'mlops-retrain',
          status: 'firing',
          alerts: [
            {
              status: 'firing',
              labels: { alertname: DRIFT_RULE.alertName, deployment, model },
              annotations: { summary: DRIFT_RULE_SUMMARY, value: mean.toFixed(1) },
              startsAt: new Date().toISOString(),
              fingerprint: randomUUID().slice(0, 16),
            },
          ],
          groupKey: `{}:{alertname="${DRIFT_RULE.alertName}"}`,
          version: '1',
        };
        ask = (await webhook('POST', '/webhooks/grafana', alert)).results[0];
      } else {
        ask = await api('POST', `/models/${model}/retrain`, { by: 'demo' });
      }
      const result = await waitForRun(ask.workflowId, ask.runId);
      return { ask, result };
    });
    if (!started.result.registration.registered)
      throw new Error(`phase ${n}: no version registered: ${started.result.registration.reason}`);

    await waitUntilServed(phase.preset, token, started.result.registration.version);
    const validateSince = Date.now();
    await timed(`phase ${n}: validate ${settings.validationRuns} runs`, () =>
      drive(deployment, phase.preset, settings.validationRuns, n * 1000 + 500, token),
    );
    const after = await meanErrorSince(deployment, validateSince);
    const improved = before === null || (after.meanError !== null && before.meanError !== null && after.meanError < before.meanError);
    allImproved &&= improved;
    const fmt = (s: { meanError: number | null; maxError: number | null } | null) =>
      s === null ? '(no model)' : s.meanError === null ? '-' : `${s.meanError.toFixed(1)} mm (max ${s.maxError!.toFixed(0)})`;
    rows.push([
      String(n),
      phase.change,
      phase.drift,
      fmt(before),
      fmt(after),
      `v${started.result.registration.version}`,
      `${started.ask.workflowId} (${started.result.dataset.recordCount} records, ${collected.frames} new)`,
      improved ? 'yes' : 'NO',
    ]);
    console.log(`demo: phase ${n} done: before ${fmt(before)}, after ${fmt(after)}, v${started.result.registration.version}`);
  }

  const header = [
    'phase',
    'change to the world',
    'drift type',
    'mean error before retrain',
    'after',
    'model version',
    'workflow id',
    'improved',
  ];
  console.log(`\n| ${header.join(' | ')} |\n| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log('\ntimings:');
  for (const [label, s] of timings) console.log(`  ${label.padEnd(52)} ${s.toFixed(1)} s`);
  console.log(`  ${'total'.padEnd(52)} ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  console.log(allImproved ? '\ndemo: every retrain lowered the error' : '\ndemo: FAILED: a retrain did not lower the error');
  process.exit(allImproved ? 0 : 1);
}

main().catch((err) => {
  console.error(`demo failed: ${err.stack ?? err}`);
  process.exit(1);
});
