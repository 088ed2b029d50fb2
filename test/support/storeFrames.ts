import type { Stores } from '../../core/stores/index.js';
import type { InferenceRecord } from '../../core/stores/measurements.js';
import { DriftSummaries } from '../../ingest/driftSummaries.js';

/**
 * Stores records as the API's analysis does (ingest/frameAnalysis.ts): the records, then their drift summaries,
 * written at once (the API writes them every 10 s). Each call writes as a writer of its own, as another API would.
 */
export async function storeFrames(
  stores: Pick<Stores, 'registry' | 'objects' | 'measurements'>,
  records: InferenceRecord[],
): Promise<void> {
  await stores.measurements.write(records);
  const summaries = new DriftSummaries({ ...stores, flushIntervalMs: 3_600_000, log: { warn: () => undefined } });
  await summaries.add(records);
  await summaries.close();
}
