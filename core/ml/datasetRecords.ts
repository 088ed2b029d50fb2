import type { DatasetRow } from '../stores/measurements.js';
import { ObjectNotFoundError, type ObjectStore } from '../stores/objects.js';
import { sha256 } from './dataset.js';

/**
 * A dataset's records: the labelled rows of its deployments, stored as immutable segments so a retrain queries and
 * writes only the rows recorded since the last assembly. A records list names its segments; the newest list for a set
 * of deployments is kept at a head key, which the next assembly continues from.
 *
 *   records/<deployments digest>/head.json
 *   records/<deployments digest>/segments/<sha256>.json                  rows (time, deployment, image key, label), oldest first
 *   records/<deployments digest>/segments/<sha256>.characteristics.json  their image characteristics, in the same order
 *
 * The characteristics (most of a row's bytes) are read only for a reference profile, not by every preprocess.
 *
 * v1 (runs before segments): one `{ deployments, rows }` object per run.
 */
export const RECORDS_FORMAT = 'mlops-records/v2';

/**
 * How far before the last assembly's newest record the next one looks again. Records reach the store a little after
 * their frame's time (analysis, the write-ahead spool after an outage); rows the last assembly already has are recognised
 * by image key and left out.
 */
export const RECORDS_LOOKBACK_MS = 60 * 60 * 1000;

/** Most rows in one segment, so no object grows without bound. */
export const MAX_SEGMENT_ROWS = 100_000;

export interface RecordSegment {
  key: string;
  sha256: string;
  characteristicsKey: string;
  characteristicsSha256: string;
  count: number;
  firstTime: number;
  lastTime: number;
  /** Its rows name their rover (segments written before rovers were kept do not): a fault interval can apply to them. */
  clients?: true;
}

/** A suspect laser's frames (core/stores/registry.ts SensorFault): its rows from `since` until `until` are left out. */
export interface ExcludedInterval {
  fault: number;
  client: string;
  deployment: string;
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive; null: the fault is still open. */
  until: number | null;
}

/** Whether a row lies inside one of the intervals. */
export function isExcluded(row: Pick<DatasetRow, 'time' | 'deployment' | 'client'>, intervals: readonly ExcludedInterval[]): boolean {
  return intervals.some(
    (x) => row.client === x.client && row.deployment === x.deployment && row.time >= x.since && (x.until === null || row.time < x.until),
  );
}

/** Whether a segment holds rows an interval may apply to. */
export const overlaps = (segment: RecordSegment, x: ExcludedInterval) =>
  segment.lastTime >= x.since && (x.until === null || segment.firstTime < x.until);

export interface RecordsList {
  format: typeof RECORDS_FORMAT;
  deployments: string[];
  segments: RecordSegment[];
  recordCount: number;
  perDeployment: Record<string, number>;
  /** The newest record's time (epoch ms). */
  watermark: number;
  /** The rows at or after the watermark minus the lookback, by image key: the next assembly skips them. */
  tail: { imageKey: string; time: number }[];
  /**
   * A dataset's list (never a head's): suspect lasers' frames its segments hold but the dataset leaves out, as the
   * registry had them when it was assembled; `recordCount` and `perDeployment` count what is left.
   */
  excluded?: ExcludedInterval[];
}

interface RecordsV1 {
  deployments: string[];
  rows: DatasetRow[];
}

export function recordsKeys(deployments: string[]) {
  const prefix = `records/${sha256(JSON.stringify([...deployments].sort())).slice(0, 16)}`;
  return {
    head: `${prefix}/head.json`,
    segment: (digest: string) => `${prefix}/segments/${digest}.json`,
    characteristics: (digest: string) => `${prefix}/segments/${digest}.characteristics.json`,
  };
}

export class CorruptRecordsError extends Error {
  readonly code = 'corrupt_records';
  constructor(
    message: string,
    readonly deployments: string[] = [],
  ) {
    super(message);
  }
}

/** Drops the head of these deployments' records: the next assembly queries every row again. */
export async function forgetRecordsHead(objects: ObjectStore, deployments: string[]): Promise<void> {
  if (deployments.length > 0) await objects.delete(recordsKeys(deployments).head);
}

/** The newest records list of exactly these deployments, if one was assembled and can be read. */
export async function readRecordsHead(objects: ObjectStore, deployments: string[]): Promise<RecordsList | undefined> {
  try {
    const list = JSON.parse((await objects.get(recordsKeys(deployments).head)).toString('utf8')) as RecordsList;
    const same = JSON.stringify([...list.deployments].sort()) === JSON.stringify([...deployments].sort());
    if (list.format !== RECORDS_FORMAT || !same) return undefined;
    // A list whose segments are gone cannot be continued: the assembly starts over from the measurement store.
    for (const segment of list.segments) {
      if (!(await objects.exists(segment.key)) || !(await objects.exists(segment.characteristicsKey))) return undefined;
    }
    return list;
  } catch (err) {
    if (err instanceof ObjectNotFoundError || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Appends rows (oldest first, none already in `previous`) as new segments: the list of the new dataset's records. */
export async function appendRecords(
  objects: ObjectStore,
  deployments: string[],
  previous: RecordsList | undefined,
  rows: DatasetRow[],
): Promise<{ list: RecordsList; bytesWritten: number }> {
  const keys = recordsKeys(deployments);
  const segments = [...(previous?.segments ?? [])];
  const perDeployment: Record<string, number> = Object.fromEntries(deployments.map((d) => [d, previous?.perDeployment[d] ?? 0]));
  let bytesWritten = 0;
  for (let start = 0; start < rows.length; start += MAX_SEGMENT_ROWS) {
    const chunk = rows.slice(start, start + MAX_SEGMENT_ROWS);
    const body = Buffer.from(JSON.stringify(chunk.map(({ characteristics: _, ...row }) => row)));
    const characteristics = Buffer.from(JSON.stringify(chunk.map((row) => row.characteristics)));
    const digest = sha256(body);
    const segment: RecordSegment = {
      key: keys.segment(digest),
      sha256: digest,
      characteristicsKey: keys.characteristics(digest),
      characteristicsSha256: sha256(characteristics),
      count: chunk.length,
      firstTime: chunk[0].time,
      lastTime: chunk[chunk.length - 1].time,
      clients: true,
    };
    await objects.put(segment.characteristicsKey, characteristics, 'application/json');
    await objects.put(segment.key, body, 'application/json');
    bytesWritten += body.byteLength + characteristics.byteLength;
    segments.push(segment);
  }
  for (const row of rows) perDeployment[row.deployment] = (perDeployment[row.deployment] ?? 0) + 1;
  const watermark = Math.max(previous?.watermark ?? -Infinity, rows.at(-1)?.time ?? -Infinity);
  const since = watermark - RECORDS_LOOKBACK_MS;
  const tail = [...(previous?.tail ?? []), ...rows.map((r) => ({ imageKey: r.imageKey, time: r.time }))].filter((r) => r.time >= since);
  const list: RecordsList = {
    format: RECORDS_FORMAT,
    deployments,
    segments,
    recordCount: (previous?.recordCount ?? 0) + rows.length,
    perDeployment,
    watermark,
    tail,
  };
  return { list, bytesWritten };
}

/**
 * Every row of a stored records list (either format), oldest first; segments are checked against their digests.
 * Without `characteristics`, rows of v2 lists carry none (preprocessing needs only keys and labels).
 */
export async function readRecordRows(
  objects: ObjectStore,
  key: string,
  options: { characteristics?: boolean } = {},
): Promise<{ deployments: string[]; rows: DatasetRow[]; bytesRead: number }> {
  const body = await objects.get(key);
  const stored = JSON.parse(body.toString('utf8')) as RecordsList | RecordsV1;
  if (!('format' in stored)) return { deployments: stored.deployments, rows: stored.rows, bytesRead: body.byteLength };
  if (stored.format !== RECORDS_FORMAT) throw new CorruptRecordsError(`${key} is not a ${RECORDS_FORMAT} records list`);
  const { rows, bytesRead } = await readListRows(objects, stored, options);
  return { deployments: stored.deployments, rows, bytesRead: body.byteLength + bytesRead };
}

/** The rows of a v2 list's segments, oldest first, but those inside its `excluded` intervals. */
export async function readListRows(
  objects: ObjectStore,
  stored: RecordsList,
  options: { characteristics?: boolean } = {},
): Promise<{ rows: DatasetRow[]; bytesRead: number }> {
  let bytesRead = 0;
  const read = async (partKey: string, digest: string) => {
    const part = await objects.get(partKey).catch((err) => {
      if (err instanceof ObjectNotFoundError) throw new CorruptRecordsError(`records segment ${partKey} is missing`, stored.deployments);
      throw err;
    });
    bytesRead += part.byteLength;
    if (sha256(part) !== digest) throw new CorruptRecordsError(`records segment ${partKey} does not match its sha256`, stored.deployments);
    return JSON.parse(part.toString('utf8')) as unknown[];
  };
  const rows: DatasetRow[] = [];
  const excluded = stored.excluded ?? [];
  for (const segment of stored.segments) {
    const part = (await read(segment.key, segment.sha256)) as Omit<DatasetRow, 'characteristics'>[];
    const characteristics = options.characteristics
      ? ((await read(segment.characteristicsKey, segment.characteristicsSha256)) as DatasetRow['characteristics'][])
      : undefined;
    part.forEach((row, i) => {
      if (excluded.length > 0 && isExcluded(row, excluded)) return;
      (row as DatasetRow).characteristics = characteristics?.[i] ?? {};
      rows.push(row as DatasetRow);
    });
  }
  return { rows, bytesRead };
}
