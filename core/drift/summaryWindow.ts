import type { MeasurementStore } from '../stores/measurements.js';
import type { ReferenceProfile } from './referenceProfile.js';
import { emptySummary, mergeEncodedInto, subtractFrom, summaryOfWindow, type WindowSummary } from './windowSummary.js';

export interface SummaryWindowQuery {
  deployment: string;
  modelName: string;
  modelVersion: number;
  /** Epoch ms: minutes holding a frame at or after it. */
  since: number;
  /** Whole minutes, newest first, while they hold at most this many frames together (the newest minute always). */
  maxFrames: number;
  /** Rovers whose frames are taken out (suspect lasers): read raw for the window's minutes and subtracted. */
  excludeClients?: string[];
}

/**
 * A drift check's window from the per-minute summaries (ingest/driftSummaries.ts writes them): the rows of the
 * window's minutes merged, whatever number of writers counted them. Its cost grows with minutes and writers, not frames.
 * The window starts on a minute boundary, so it can hold up to a minute of frames from before `since`.
 */
export async function summaryWindow(
  measurements: Pick<MeasurementStore, 'driftSummaries' | 'driftWindow'>,
  profile: ReferenceProfile,
  query: SummaryWindowQuery,
): Promise<WindowSummary> {
  const { deployment, modelName, modelVersion } = query;
  const rows = await measurements.driftSummaries({ deployment, modelName, modelVersion, since: query.since });
  const merged = emptySummary();
  let oldestMinute: number | undefined;
  let frames = 0;
  for (let i = 0; i < rows.length;) {
    const minute = rows[i].minute;
    let end = i;
    let minuteFrames = 0;
    while (end < rows.length && rows[end].minute === minute) minuteFrames += rows[end++].frames;
    if (frames > 0 && frames + minuteFrames > query.maxFrames) break;
    for (; i < end; i++) mergeEncodedInto(merged, rows[i].summary, profile);
    frames += minuteFrames;
    oldestMinute = minute;
  }
  const suspects = query.excludeClients ?? [];
  if (suspects.length > 0 && oldestMinute !== undefined && merged.windowEnd !== null) {
    const theirs = await measurements.driftWindow({
      deployment,
      modelName,
      modelVersion,
      since: oldestMinute,
      until: merged.windowEnd,
      maxFrames: Math.max(query.maxFrames, 1),
      onlyClients: suspects,
    });
    if (theirs.frames > 0) subtractFrom(merged, summaryOfWindow(profile, theirs));
  }
  return merged;
}
