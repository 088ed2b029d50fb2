import { Context } from '@temporalio/activity';
import { referenceProfileOf, type ReferenceProfile } from '../core/drift/referenceProfile.js';
import { DATASET_FORMAT_V2, parseManifest, sha256 } from '../core/ml/dataset.js';
import { readRecordRows } from '../core/ml/datasetRecords.js';
import { runMlJob } from '../core/ml/runMlJob.js';
import { referenceProfileKey } from '../core/stores/objectKeys.js';
import type { ActivityContext } from './context.js';
import { heartbeatWhile } from './heartbeatWhile.js';
import type { ReferenceProfileSummary } from '../workflows/trainAndRegister/contract.js';

export interface BuildReferenceProfileInput {
  modelName: string;
  version: number;
  workflowId: string;
  runId: string;
  manifestKey: string;
  artifactKey: string;
}

/**
 * Stores what a newly registered version learned from: sketches of the image characteristics and
 * labels of its dataset's records, and of its errors on the test split (measured in a child
 * process), then links the profile to the version in the registry.
 */
export const buildReferenceProfile =
  ({ stores, objectsUrl, mlBackend, capacity }: ActivityContext) =>
  async (input: BuildReferenceProfileInput): Promise<ReferenceProfileSummary> => {
    const { objects, registry } = stores;
    const manifest = parseManifest(await objects.get(input.manifestKey), input.manifestKey);
    const records = await readRecordRows(objects, manifest.source.datasetKey, { characteristics: true });
    // A v2 dataset names its frames: the profile covers those the policy kept and preprocessing could read.
    let rows = records.rows;
    if (manifest.format === DATASET_FORMAT_V2) {
      const inDataset = new Set<string>();
      for (const split of [manifest.train, manifest.test])
        for (const key of JSON.parse((await objects.get(split.imageKeysKey)).toString('utf8')) as string[]) inDataset.add(key);
      rows = rows.filter((r) => inDataset.has(r.imageKey));
    }
    const testErrorsMm = await heartbeatWhile(() =>
      runMlJob(
        {
          kind: 'test-errors',
          threads: capacity?.threadsPerTrial,
          job: { objectsUrl, backend: mlBackend, manifestKey: input.manifestKey, modelPrefix: input.artifactKey },
        },
        () => {},
        Context.current().cancellationSignal,
      ),
    );
    const profile: ReferenceProfile = referenceProfileOf({
      modelName: input.modelName,
      version: input.version,
      source: { manifestKey: input.manifestKey, workflowId: input.workflowId, runId: input.runId },
      // Records written before characteristics were kept in datasets have none: the profile says which are missing.
      rows: rows.map((r) => ({ sensorValue: r.sensorValue, characteristics: r.characteristics ?? {} })),
      labelMaxMm: manifest.labelMaxMm,
      testErrorsMm,
    });
    const body = Buffer.from(JSON.stringify(profile));
    const key = referenceProfileKey(input.workflowId, input.runId);
    await objects.put(key, body, 'application/json');
    const digest = sha256(body);
    await registry.attachReferenceProfile(input.modelName, input.version, { key, sha256: digest });
    return {
      key,
      sha256: digest,
      frames: profile.frames,
      features: Object.keys(profile.features).length,
      testMaeMm: profile.testErrors.mean,
    };
  };
