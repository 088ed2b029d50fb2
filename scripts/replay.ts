/**
 * Replays workflow histories against the current workflow code with Temporal's replayer,
 * so a change that breaks determinism shows before it reaches running workflows.
 *   npm run replay -- --file test/fixtures/histories/train-and-register-alert-triggered.json
 *   npm run replay -- --workflow-id train-and-register-distance [--run-id ID] [--save FILE]
 */
import fs from 'node:fs';
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { OperatorError, parseCommandLine, runCommand, UsageError } from '../core/commandLine.js';
import { loadConfig } from '../core/config.js';
import { connectClient } from '../control/temporal/client.js';
import { workflowsPath } from '../workers/createWorkers.js';

const USAGE = `usage: npm run replay -- --file HISTORY.json [--file ...]
       npm run replay -- --workflow-id ID [--run-id ID] [--save FILE]

Replays workflow histories against the current workflow code, so a change that breaks determinism shows
before it reaches running workflows. One line per history; exit code 1 if any fails.

  --file FILE        a history as \`temporal workflow show -o json\` writes it (repeatable)
  --workflow-id ID   fetch the history from Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)
  --run-id ID        that run (default: the latest)
  --save FILE        also write the fetched history to FILE (a new replay fixture)
  -h, --help         this text

examples:
  npm run replay -- --file test/fixtures/histories/train-and-register-alert-triggered.json
  npm run replay -- --workflow-id train-and-register-distance --save /tmp/history.json`;

const GRPC_NOT_FOUND = 5;

function readHistory(file: string): unknown {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OperatorError(`cannot read the history file ${file}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OperatorError(`${file} is not a JSON history: ${(err as Error).message}`);
  }
}

async function fetchHistory(workflowId: string, runId: string | undefined) {
  const config = loadConfig();
  const { address, namespace } = config.temporal;
  const client = await connectClient(config, '5s').catch((err: Error) => {
    throw new OperatorError(
      `cannot reach Temporal at ${address} (${err.message.split('\n')[0]}): start it with \`npm start\`, or set TEMPORAL_ADDRESS`,
    );
  });
  try {
    return await client.workflow.getHandle(workflowId, runId).fetchHistory();
  } catch (err) {
    // fetchHistory answers gRPC's NOT_FOUND as it is; describe() and the others as WorkflowNotFoundError.
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND))
      throw new OperatorError(`no workflow "${workflowId}"${runId ? ` run ${runId}` : ''} in namespace ${namespace} at ${address}`);
    throw err;
  } finally {
    await client.connection.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseCommandLine(process.argv.slice(2), {
    file: { type: 'string', multiple: true },
    'workflow-id': { type: 'string' },
    'run-id': { type: 'string' },
    save: { type: 'string' },
  });
  if (!values.file && !values['workflow-id']) throw new UsageError('give --file or --workflow-id');
  if (values.save && !values['workflow-id']) throw new UsageError('--save needs --workflow-id');

  const histories = (values.file ?? []).map((file) => ({ name: file, history: readHistory(file) }));
  if (values['workflow-id']) {
    const history = await fetchHistory(values['workflow-id'], values['run-id']);
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
  return failed ? 1 : 0;
}

runCommand(USAGE, main);
