/**
 * Replays workflow histories against the current workflow code with Temporal's replayer,
 * so a change that breaks determinism shows before it reaches running workflows.
 *   npm run replay -- --file test/fixtures/histories/train-and-register-alert-triggered.json
 *   npm run replay -- --workflow-id train-and-register-distance [--run-id ID] [--save FILE]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../core/config.js';
import { connectClient } from '../control/temporal/client.js';
import { workflowsPath } from '../workers/createWorkers.js';

const { values } = parseArgs({
  options: {
    file: { type: 'string', multiple: true },
    'workflow-id': { type: 'string' },
    'run-id': { type: 'string' },
    save: { type: 'string' },
  },
});
if (!values.file && !values['workflow-id']) {
  console.error('usage: replay --file HISTORY.json [--file ...] | --workflow-id ID [--run-id ID] [--save FILE]');
  process.exit(2);
}

const histories: { name: string; history: unknown }[] = (values.file ?? []).map((file) => ({
  name: file,
  history: JSON.parse(fs.readFileSync(file, 'utf8')),
}));
if (values['workflow-id']) {
  const client = await connectClient(loadConfig());
  const history = await client.workflow.getHandle(values['workflow-id'], values['run-id']).fetchHistory();
  await client.connection.close();
  if (values.save) {
    // The same JSON as `temporal workflow show -o json`, which the replayer reads back.
    fs.writeFileSync(values.save, historyToJSON(history));
    console.log(`saved ${history.events?.length} events to ${values.save}`);
  }
  histories.push({ name: values['workflow-id'], history });
}

// One line per history: the bundler's and the worker's own logs only when something is wrong.
Runtime.install({ logger: new DefaultLogger('WARN') });
const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
let failed = 0;
for (const { name, history } of histories) {
  try {
    await Worker.runReplayHistory({ workflowBundle }, history as Parameters<typeof Worker.runReplayHistory>[1]);
    console.log(`replayed ${name}: deterministic`);
  } catch (err) {
    failed++;
    console.error(`replay of ${name} FAILED: ${(err as Error).message}`);
  }
}
process.exit(failed ? 1 : 0);
