import { ApplicationFailure } from '@temporalio/activity';
import { sha256 } from '../core/ml/dataset.js';
import { appendRecords, readRecordsHead, recordsKeys, RECORDS_LOOKBACK_MS } from '../core/ml/datasetRecords.js';
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
}

/**
 * Selects the labelled records of the deployments (frames without a sensor value are skipped) and stores their list:
 * the last assembly's segments for the same deployments plus a segment of the rows recorded since.
 */
export const assembleDataset =
  ({ stores }: ActivityContext) =>
  async (input: AssembleDatasetInput): Promise<AssembleDatasetResult> => {
    if (input.deployments.length === 0) throw ApplicationFailure.nonRetryable('no deployments to assemble a dataset from', 'NoDeployments');
    const { objects, measurements } = stores;
    const previous = await readRecordsHead(objects, input.deployments);
    const range = previous ? { since: previous.watermark - RECORDS_LOOKBACK_MS } : undefined;
    const known = new Set(previous?.tail.map((r) => r.imageKey));
    const fresh = (await measurements.datasetRows(input.deployments, range)).filter((row) => !known.has(row.imageKey));
    const { list } = await appendRecords(objects, input.deployments, previous, fresh);
    if (list.recordCount === 0) {
      const message = `no labelled records (frames with a sensor value) for deployments ${input.deployments.join(', ')}: drive rovers with the laser on first`;
      throw ApplicationFailure.nonRetryable(message, 'NoLabelledRecords');
    }
    const body = Buffer.from(JSON.stringify(list));
    const datasetKey = datasetKeys(input.workflowId, input.runId).records;
    await objects.put(datasetKey, body, 'application/json');
    await objects.put(recordsKeys(input.deployments).head, body, 'application/json');
    return {
      datasetKey,
      datasetSha256: sha256(body),
      recordCount: list.recordCount,
      perDeployment: list.perDeployment,
      newRecords: fresh.length,
    };
  };
