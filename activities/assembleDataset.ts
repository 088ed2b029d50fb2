import { ApplicationFailure } from '@temporalio/activity';
import { sha256 } from '../core/ml/dataset.js';
import {
  appendRecords,
  isExcluded,
  overlaps,
  readListRows,
  readRecordsHead,
  recordsKeys,
  RECORDS_LOOKBACK_MS,
  type ExcludedInterval,
  type RecordsList,
} from '../core/ml/datasetRecords.js';
import type { RegistryStore } from '../core/stores/registry.js';
import { datasetKeys } from '../core/stores/objectKeys.js';
import type { ActivityContext } from './context.js';

export interface AssembleDatasetInput {
  workflowId: string;
  runId: string;
  deployments: string[];
}

export interface AssembleDatasetResult {
  datasetKey: string;
  datasetSha256: string;
  recordCount: number;
  perDeployment: Record<string, number>;
  /** Rows this assembly queried and stored (the rest came from the last assembly of the same deployments). */
  newRecords?: number;
  /** Rows left out as suspect lasers' frames (counted in no other field). */
  excludedRecords?: number;
}

/**
 * Selects the labelled records of the deployments (frames without a sensor value are skipped) and stores their list:
 * the last assembly's segments for the same deployments plus a segment of the rows recorded since. Suspect lasers'
 * frames (every sensor fault of the deployments, open or cleared, from its onset until its clearing) are left out of
 * the dataset, also those in segments an earlier assembly wrote before the fault was found.
 */
export const assembleDataset =
  ({ stores }: ActivityContext) =>
  async (input: AssembleDatasetInput): Promise<AssembleDatasetResult> => {
    if (input.deployments.length === 0) throw ApplicationFailure.nonRetryable('no deployments to assemble a dataset from', 'NoDeployments');
    const { objects, measurements, registry } = stores;
    const excluded = await faultIntervals(registry, input.deployments);
    let previous = await readRecordsHead(objects, input.deployments);
    // Segments from before rows named their rover cannot be filtered by rover: start over from the measurement store.
    if (previous?.segments.some((segment) => !segment.clients && excluded.some((x) => overlaps(segment, x)))) previous = undefined;
    const range = previous ? { since: previous.watermark - RECORDS_LOOKBACK_MS } : undefined;
    const known = new Set(previous?.tail.map((r) => r.imageKey));
    const fresh = (await measurements.datasetRows(input.deployments, range)).filter((row) => !known.has(row.imageKey));
    const { list: head } = await appendRecords(objects, input.deployments, previous, fresh);
    const list = await withoutExcluded(objects, head, excluded);
    if (list.recordCount === 0) {
      const message = `no labelled records (frames with a sensor value) for deployments ${input.deployments.join(', ')}: drive rovers with the laser on first`;
      throw ApplicationFailure.nonRetryable(message, 'NoLabelledRecords');
    }
    const body = Buffer.from(JSON.stringify(list));
    const datasetKey = datasetKeys(input.workflowId, input.runId).records;
    await objects.put(datasetKey, body, 'application/json');
    await objects.put(recordsKeys(input.deployments).head, Buffer.from(JSON.stringify(head)), 'application/json');
    return {
      datasetKey,
      datasetSha256: sha256(body),
      recordCount: list.recordCount,
      perDeployment: list.perDeployment,
      newRecords: fresh.length,
      ...(excluded.length > 0 ? { excludedRecords: head.recordCount - list.recordCount } : {}),
    };
  };

/** The deployments' sensor faults as intervals of their rovers' frames. */
async function faultIntervals(registry: RegistryStore, deployments: string[]): Promise<ExcludedInterval[]> {
  const faults = (await Promise.all(deployments.map((deployment) => registry.listSensorFaults({ deployment })))).flat();
  return faults.map((f) => ({
    fault: f.id,
    client: f.client,
    deployment: f.deployment,
    since: Date.parse(f.since),
    until: f.clearedAt === null ? null : Date.parse(f.clearedAt),
  }));
}

/** The dataset's list: the head's segments with the intervals to leave out, counting only the rows left in. */
async function withoutExcluded(
  objects: ActivityContext['stores']['objects'],
  head: RecordsList,
  excluded: ExcludedInterval[],
): Promise<RecordsList> {
  const applying = excluded.filter((x) => head.segments.some((segment) => overlaps(segment, x)));
  if (applying.length === 0) return head;
  // Only the segments an interval overlaps are read, without their characteristics.
  const { rows } = await readListRows(objects, {
    ...head,
    segments: head.segments.filter((segment) => applying.some((x) => overlaps(segment, x))),
  });
  const perDeployment = { ...head.perDeployment };
  let dropped = 0;
  for (const row of rows) {
    if (!isExcluded(row, applying)) continue;
    perDeployment[row.deployment] -= 1;
    dropped++;
  }
  return { ...head, excluded: applying, recordCount: head.recordCount - dropped, perDeployment };
}
