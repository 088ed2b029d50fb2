import pino from 'pino';
import { loadConfig } from '../core/config.js';
import { trainingCapacity } from '../core/ml/trainingCapacity.js';
import { closeStores, openStores } from '../core/stores/index.js';
import { lazyTemporalClient } from '../core/temporalClient.js';
import { connectWorker } from './temporalConnection.js';
import { createWorkers } from './createWorkers.js';
import { installWorkerRuntime } from './runtime.js';

const config = loadConfig();
const log = pino({ level: config.logLevel });
installWorkerRuntime(log, config.workerMetricsAddress);
const stores = await openStores(config);
const connection = await connectWorker(config);
// The drift monitor asks for retrains with signalWithStart, as the API does.
const { temporal, close: closeTemporal } = lazyTemporalClient(config);
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
      temporal: { client: temporal, ui: { url: config.temporal.uiUrl, namespace: config.temporal.namespace } },
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
  await closeTemporal();
  await connection.close();
  await closeStores(stores);
}
