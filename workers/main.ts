import { parseCommandLineOrExit } from '../core/commandLine.js';
import pino from 'pino';
import { loadConfig } from '../core/config.js';
import { trainingCapacity } from '../core/ml/trainingCapacity.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { lazyTemporalClient } from '../control/temporal/client.js';
import { keepRetryingPendingRetrains } from '../control/retrainRequests.js';
import { connectWorker } from '../control/temporal/workerConnection.js';
import { createWorkers } from './createWorkers.js';
import { installWorkerRuntime } from './runtime.js';

parseCommandLineOrExit(
  `usage: npm run worker
The Temporal workers (the orchestration and training task queues); npm start serves them with Temporal and the API.
No flags: every setting is an environment variable (.env.example), e.g. TEMPORAL_ADDRESS, DATA_DIR,
SWEEP_PARALLELISM, ML_THREADS_PER_TRIAL, LOG_LEVEL.

examples:
  npm run worker
  TEMPORAL_ADDRESS=localhost:7233 SWEEP_PARALLELISM=2 npm run worker`,
  process.argv.slice(2),
);
const config = loadConfig();
const log = pino({ level: config.logLevel });
installWorkerRuntime(log, config.workerMetricsAddress);
const stores = await openStores(config);
const connection = await connectWorker(config);
// The drift monitor asks for retrains with signalWithStart, as the API does.
const { temporal, close: closeTemporal } = lazyTemporalClient(config);
const temporalUi = { url: config.temporal.uiUrl, namespace: config.temporal.namespace };
// Asks recorded while Temporal was unreachable (a drift check's among them) are handed over from here too, with no API running.
const pendingRetrains = keepRetryingPendingRetrains({
  registry: stores.registry,
  temporal,
  temporalUi,
  log,
});
try {
  const capacity = trainingCapacity({ sweepParallelism: config.sweepParallelism, threadsPerTrial: config.mlThreadsPerTrial });
  const workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    context: {
      stores,
      objectsUrl: config.objectsUrl,
      mlBackend: config.mlBackend,
      trainGraph: config.trainGraph,
      temporal: { client: temporal, ui: temporalUi },
    },
    capacity,
  });
  log.info(
    {
      taskQueues: workers.map((w) => w.options.taskQueue),
      training: capacity,
      ...(config.workerMetricsAddress && { metrics: `http://${config.workerMetricsAddress}/metrics` }),
    },
    `workers polling; training: ${capacity.slots} trial(s) at once x ${capacity.threadsPerTrial} thread(s) on ${capacity.cores} cores (${capacity.source})`,
  );
  await Promise.all(workers.map((w) => w.run()));
} finally {
  pendingRetrains.stop();
  await closeTemporal();
  await connection.close();
  await closeStores(stores);
}
