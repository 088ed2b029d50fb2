import { ApplicationFailure } from '@temporalio/activity';
import { sha256 } from '../core/ml/dataset.js';
import type { DatasetRow } from '../core/stores/measurements.js';
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
}

/** Selects the labelled records of the deployments (frames without a sensor value are skipped) and stores the list. */
export const assembleDataset =
  ({ stores }: ActivityContext) =>
  async (input: AssembleDatasetInput): Promise<AssembleDatasetResult> => {
    if (input.deployments.length === 0) throw ApplicationFailure.nonRetryable('no deployments to assemble a dataset from', 'NoDeployments');
    const rows: DatasetRow[] = await stores.measurements.datasetRows(input.deployments);
    if (rows.length === 0) {
      const message = `no labelled records (frames with a sensor value) for deployments ${input.deployments.join(', ')}: drive rovers with the laser on first`;
      throw ApplicationFailure.nonRetryable(message, 'NoLabelledRecords');
    }
    const perDeployment: Record<string, number> = Object.fromEntries(input.deployments.map((d) => [d, 0]));
    for (const row of rows) perDeployment[row.deployment]++;
    const body = Buffer.from(JSON.stringify({ deployments: input.deployments, rows }));
    const datasetKey = datasetKeys(input.workflowId, input.runId).records;
    await stores.objects.put(datasetKey, body, 'application/json');
    return { datasetKey, datasetSha256: sha256(body), recordCount: rows.length, perDeployment };
  };
