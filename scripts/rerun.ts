/**
 * Reruns only the experiment step (sweep, selection, registration) with new hyperparameters
 * on the identical preprocessed dataset of an earlier run, through the API.
 *   npm run rerun -- --model distance --from-version 2 --epochs 20,40 --batch-sizes 32 --dropouts 0.1,0.2
 * The same as a raw Temporal command is printed with --print-temporal-command.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.js';
import { openRegistry } from '../core/stores/index.js';
import { connectClient } from '../core/temporalClient.js';
import { TASK_QUEUES, type TrainAndRegisterRequest } from '../core/training/request.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    'from-version': { type: 'string' },
    epochs: { type: 'string' },
    'batch-sizes': { type: 'string' },
    dropouts: { type: 'string' },
    'learning-rates': { type: 'string' },
    'register-policy': { type: 'string' },
    'print-temporal-command': { type: 'boolean' },
  },
});
const list = (s?: string) => (s ? s.split(',').map(Number) : undefined);
if (!values.model || !values['from-version']) {
  console.error(
    'usage: rerun --model NAME --from-version N [--epochs 10,20] [--batch-sizes 32,64] [--dropouts 0.1,0.2] [--learning-rates 0.001] [--register-policy always|if-better] [--print-temporal-command]',
  );
  process.exit(2);
}
for (const [flag, v] of Object.entries({
  epochs: values.epochs,
  'batch-sizes': values['batch-sizes'],
  dropouts: values.dropouts,
  'learning-rates': values['learning-rates'],
})) {
  if (list(v)?.some((n) => !Number.isFinite(n))) {
    console.error(`--${flag} must be a comma-separated list of numbers, got "${v}"`);
    process.exit(2);
  }
}

const config = loadConfig();
const registry = await openRegistry(config.registryUrl, { lockTimeoutSeconds: config.migrationLockTimeoutSeconds });
const source = await registry.getModelVersion(values.model, Number(values['from-version']));
await registry.close();
if (!source) {
  console.error(`model "${values.model}" has no version ${values['from-version']}`);
  process.exit(1);
}
const request: TrainAndRegisterRequest = {
  modelName: values.model,
  deployments: source.sourceDeployments,
  trigger: { kind: 'cli', by: `rerun of v${source.version} (${source.workflowId}/${source.runId})` },
  architecture: source.architecture,
  reuseDataset: { manifestKey: source.datasetKey },
  sweep: {
    epochs: list(values.epochs),
    batchSizes: list(values['batch-sizes']),
    dropouts: list(values.dropouts),
    learningRates: list(values['learning-rates']),
  },
  registerPolicy: values['register-policy'] === 'always' ? 'always' : 'if-better',
};
const workflowId = `rerun-${values.model}-v${source.version}-${Date.now()}`;
if (values['print-temporal-command']) {
  console.log(
    `temporal workflow start --task-queue ${TASK_QUEUES.orchestration} --type TrainAndRegister --workflow-id ${workflowId} --input '${JSON.stringify(request)}'`,
  );
  process.exit(0);
}
const client = await connectClient(config);
const handle = await client.workflow.start('TrainAndRegister', { taskQueue: TASK_QUEUES.orchestration, workflowId, args: [request] });
console.log(`started ${workflowId} (run ${handle.firstExecutionRunId}); waiting for the result ...`);
const result = await handle.result();
console.log(JSON.stringify({ registration: result.registration, best: result.selection.best }, null, 2));
await client.connection.close();
