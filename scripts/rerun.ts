/**
 * Reruns only the experiment step (sweep, selection, registration) with new hyperparameters on
 * the identical preprocessed dataset of a registered version, through the API
 * (POST /models/:name/versions/:version/rerun): sweep values not named are the source run's.
 *   npm run rerun -- --model distance --from-version 2 --epochs 20,40 [--wait]
 *   npm run rerun -- --model distance --from-version 2 --epochs 20 --print-temporal-command
 * API_URL (default http://127.0.0.1:$API_PORT) and ADMIN_TOKEN reach the API.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { TrainingRunAnswer } from '../contracts/http/retrain.js';
import { apiClient } from './apiClient.js';
import { MODEL_NAME_ATTRIBUTE, TASK_QUEUES, TRIGGER_ATTRIBUTE, WORKFLOW_TYPES } from '../workflows/shared.js';

const usage =
  'usage: npm run rerun -- --model NAME --from-version N [--epochs 10,20] [--batch-sizes 32,64] [--dropouts 0.1,0.2] ' +
  '[--learning-rates 0.001] [--register-policy always|if-better] [--wait] [--print-temporal-command]';
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    'from-version': { type: 'string' },
    epochs: { type: 'string' },
    'batch-sizes': { type: 'string' },
    dropouts: { type: 'string' },
    'learning-rates': { type: 'string' },
    'register-policy': { type: 'string' },
    wait: { type: 'boolean' },
    'print-temporal-command': { type: 'boolean' },
  },
});
// Typed as never-returning, so that a check calling it narrows what follows.
const fail: (message: string) => never = (message) => {
  console.error(message);
  process.exit(2);
};
if (!values.model || !values['from-version']) fail(usage);
const list = (flag: string, s?: string) => {
  if (!s) return undefined;
  const numbers = s.split(',').map(Number);
  if (numbers.some((n) => !Number.isFinite(n))) fail(`--${flag} must be a comma-separated list of numbers, got "${s}"`);
  return numbers;
};
const policy = values['register-policy'];
if (policy !== undefined && policy !== 'always' && policy !== 'if-better')
  fail(`--register-policy must be always or if-better, got "${policy}"`);

const apiUrl = process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`;
const api = apiClient(apiUrl, process.env.ADMIN_TOKEN ?? 'dev-admin-token');
const body = {
  by: process.env.USER ?? 'cli',
  kind: 'cli' as const,
  sweep: {
    epochs: list('epochs', values.epochs),
    batchSizes: list('batch-sizes', values['batch-sizes']),
    dropouts: list('dropouts', values.dropouts),
    learningRates: list('learning-rates', values['learning-rates']),
  },
  registerPolicy: policy as 'always' | 'if-better' | undefined,
  dryRun: values['print-temporal-command'] ?? false,
};

try {
  const answer = await api('POST', `/models/${values.model}/versions/${values['from-version']}/rerun`, body);
  if (answer.outcome === 'dry-run') {
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const temporal = path.relative(process.cwd(), path.resolve(import.meta.dirname, '../.tools/bin/temporal')) || 'temporal';
    console.log(
      [
        `${temporal} workflow start --task-queue ${TASK_QUEUES.orchestration} --type ${WORKFLOW_TYPES.trainAndRegister} --workflow-id ${answer.workflowId}`,
        `--search-attribute ${quote(`${MODEL_NAME_ATTRIBUTE.name}="${values.model}"`)}`,
        `--search-attribute ${quote(`${TRIGGER_ATTRIBUTE.name}="${answer.request.trigger.kind}"`)}`,
        `--static-summary ${quote(answer.summary)}`,
        `--input ${quote(JSON.stringify(answer.request))}`,
      ].join(' \\\n  '),
    );
    process.exit(0);
  }
  const { links } = answer;
  if (!links) fail(`rerun ${answer.outcome}: retrain request ${answer.requestId} has no run`);
  console.log(`rerun started: ${answer.workflowId} run ${answer.runId} (retrain request ${answer.requestId})`);
  console.log(`  status: ${apiUrl}${links.status}\n  Web UI: ${links.ui}`);
  if (!values.wait) process.exit(0);
  for (;;) {
    const run = (await api('GET', links.status)) as TrainingRunAnswer;
    if (run.status === 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      continue;
    }
    if (run.status !== 'COMPLETED' || !run.result) fail(`rerun ${run.status}`);
    const { registration, selection } = run.result;
    console.log(
      registration.registered
        ? `registered v${registration.version} (best trial ${selection.best.trialId}, test MAE ${selection.best.metrics.test_mae_mm.toFixed(2)} mm)`
        : `not registered: ${registration.reason}`,
    );
    process.exit(0);
  }
} catch (err) {
  console.error(`rerun failed: ${(err as Error).message}`);
  process.exit(1);
}
