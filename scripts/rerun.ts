/**
 * Reruns only the experiment step (sweep, selection, registration) with new hyperparameters on
 * the identical preprocessed dataset of a registered version, through the API
 * (POST /models/:name/versions/:version/rerun): sweep values not named are the source run's.
 *   npm run rerun -- --model distance --from-version 2 --epochs 20,40 [--wait]
 *   npm run rerun -- --model distance --from-version 2 --epochs 20 --print-temporal-command
 * API_URL (default http://127.0.0.1:$API_PORT) and ADMIN_TOKEN reach the API.
 */
import path from 'node:path';
import { OperatorError, parseCommandLine, runCommand, UsageError } from '../core/commandLine.js';
import { MODEL_NAME_ATTRIBUTE, TASK_QUEUES, TRIGGER_ATTRIBUTE, WORKFLOW_TYPES } from '../workflows/shared.js';
import { apiClient } from './apiClient.js';
import { outcomeLine, waitForTrainingRun } from './trainingProgress.js';

const USAGE = `usage: npm run rerun -- --model NAME --from-version N [sweep flags] [--register-policy always|if-better]
                      [--wait] [--print-temporal-command]

Reruns the sweep, selection and registration of a registered version on its identical preprocessed dataset,
through the API. Sweep values not given are the source run's.

  --model NAME                 the registered model
  --from-version N             the version whose dataset (and sweep) to reuse
  --epochs 10,20               sweep values, comma-separated (also --batch-sizes, --dropouts, --learning-rates)
  --register-policy POLICY     always, or if-better (only when it beats the current version on the same test set)
  --wait                       wait for the run, printing its progress, and end with its outcome
  --print-temporal-command     start nothing; print the equivalent \`temporal workflow start\` command
  -h, --help                   this text

environment: API_URL (default http://127.0.0.1:$API_PORT, API_PORT default 3000), ADMIN_TOKEN (the API's admin token)

examples:
  npm run rerun -- --model distance --from-version 2 --epochs 20,40 --wait
  npm run rerun -- --model distance --from-version 2 --batch-sizes 16 --register-policy if-better
  npm run rerun -- --model distance --from-version 2 --epochs 20 --print-temporal-command`;

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    model: { type: 'string' },
    'from-version': { type: 'string' },
    epochs: { type: 'string' },
    'batch-sizes': { type: 'string' },
    dropouts: { type: 'string' },
    'learning-rates': { type: 'string' },
    'register-policy': { type: 'string' },
    wait: { type: 'boolean' },
    'print-temporal-command': { type: 'boolean' },
  });
  if (!values.model) throw new UsageError('--model is required');
  const fromVersion = values['from-version'];
  if (!fromVersion) throw new UsageError('--from-version is required');
  if (!/^[1-9]\d*$/.test(fromVersion)) throw new UsageError(`--from-version must be a version number (1, 2, ...), got "${fromVersion}"`);
  const list = (flag: string, s?: string) => {
    if (s === undefined) return undefined;
    const numbers = s.split(',').map((n) => (n.trim() === '' ? NaN : Number(n)));
    if (numbers.some((n) => !Number.isFinite(n))) throw new UsageError(`--${flag} must be a comma-separated list of numbers, got "${s}"`);
    return numbers;
  };
  const policy = values['register-policy'];
  if (policy !== undefined && policy !== 'always' && policy !== 'if-better')
    throw new UsageError(`--register-policy must be always or if-better, got "${policy}"`);
  const sweep = {
    epochs: list('epochs', values.epochs),
    batchSizes: list('batch-sizes', values['batch-sizes']),
    dropouts: list('dropouts', values.dropouts),
    learningRates: list('learning-rates', values['learning-rates']),
  };

  const apiUrl = process.env.API_URL ?? `http://127.0.0.1:${process.env.API_PORT ?? 3000}`;
  const api = apiClient(apiUrl, process.env.ADMIN_TOKEN ?? 'dev-admin-token');
  const body = {
    by: process.env.USER ?? 'cli',
    kind: 'cli' as const,
    sweep,
    registerPolicy: policy as 'always' | 'if-better' | undefined,
    dryRun: values['print-temporal-command'] ?? false,
  };
  const answer = await api('POST', `/models/${encodeURIComponent(values.model)}/versions/${fromVersion}/rerun`, body);
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
    return 0;
  }
  const { links, workflowId, runId } = answer;
  if (!links || !workflowId || !runId) throw new OperatorError(`rerun ${answer.outcome}: retrain request ${answer.requestId} has no run`);
  console.log(`rerun started: ${workflowId} run ${runId} (retrain request ${answer.requestId})`);
  console.log(`  status: ${apiUrl}${links.status}\n  Web UI: ${links.ui}`);
  if (!values.wait) return 0;
  const result = await waitForTrainingRun(api, { workflowId, runId }, { log: (line) => console.log(`[rerun] ${line}`) });
  console.log(outcomeLine(result));
  return 0;
}

runCommand(USAGE, main);
