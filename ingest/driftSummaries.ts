import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { VersionProfiles } from '../core/drift/profileCache.js';
import { countFrame, emptySummary, encodeSummary, type WindowSummary } from '../core/drift/windowSummary.js';
import type { DriftSummaryRow, InferenceRecord, MeasurementStore } from '../core/stores/measurements.js';
import type { ObjectStore } from '../core/stores/objects.js';
import type { RegistryStore } from '../core/stores/registry.js';

export interface DriftSummariesOptions {
  registry: Pick<RegistryStore, 'getModelVersion'>;
  objects: ObjectStore;
  measurements: Pick<MeasurementStore, 'writeDriftSummaries'>;
  /** How often the minutes counted since the last flush are written (default 10 s). */
  flushIntervalMs?: number;
  /** This process in the rows it writes (default host, pid and a random suffix: a restarted process never rewrites a dead one's rows). */
  writer?: string;
  log: { info?(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
}

interface Minute {
  row: Omit<DriftSummaryRow, 'frames' | 'firstTime' | 'lastTime' | 'summary'>;
  summary: WindowSummary;
  /** Frames counted since the row was last written. */
  unwritten: number;
}

const MINUTE_MS = 60_000;
/** A written minute this much older than now is let go: frames arriving for it later start a new row of it. */
const KEEP_MS = 3 * MINUTE_MS;

/**
 * The ingest side of the drift summaries (core/drift/windowSummary.ts): counts every stored frame into its
 * deployment's, version's and minute's summary, and writes the minutes that changed every `flushIntervalMs` and
 * on close, each as this writer's row (rewritten as the minute fills). Frames of a version without a reference
 * profile are not counted (its checks say no-reference). A store that fails keeps the counts for the next flush;
 * a process killed loses the counts since its last flush, never a frame (the frames are in the measurement store).
 */
export class DriftSummaries {
  private readonly profiles: VersionProfiles;
  private readonly minutes = new Map<string, Minute>();
  private readonly writer: string;
  private readonly timer: NodeJS.Timeout;
  private rows = 0;
  private flushing: Promise<void> | undefined;
  /** Frames not counted because their version's profile could not be read. */
  uncounted = 0;
  private profileOutage = false;

  constructor(private readonly options: DriftSummariesOptions) {
    this.profiles = new VersionProfiles(options.registry, options.objects);
    this.writer = options.writer ?? `${os.hostname().slice(0, 32)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 10_000);
    this.timer.unref();
  }

  /** Counts stored records; never throws (a profile that cannot be read is logged and its frames left uncounted). */
  async add(records: InferenceRecord[]): Promise<void> {
    for (const record of records) {
      if (record.modelName === null || record.modelVersion === null) continue;
      let profile;
      try {
        profile = await this.profiles.get(record.modelName, record.modelVersion);
      } catch (err) {
        this.uncounted++;
        // Once per outage, not once per frame: a registry that is down fails every frame of an unknown version. At info:
        // the store's own outage is the warning (the lookups log it); this says what it costs the drift summaries.
        if (!this.profileOutage)
          this.options.log.info?.(
            { err: (err as Error).message, model: record.modelName, version: record.modelVersion },
            'drift summary: profile unreadable; frames not counted until it can be read',
          );
        this.profileOutage = true;
        continue;
      }
      this.profileOutage = false;
      if (!profile) continue;
      const minute = Math.floor(record.time / MINUTE_MS) * MINUTE_MS;
      const key = JSON.stringify([record.deployment, record.modelName, record.modelVersion, minute]);
      let entry = this.minutes.get(key);
      if (!entry) {
        // A row per entry: a minute let go and counted again is a new row, never a rewrite of the one written before.
        const row = {
          deployment: record.deployment,
          modelName: record.modelName,
          modelVersion: record.modelVersion,
          minute,
          writer: `${this.writer}.${this.rows++}`,
        };
        entry = { row, summary: emptySummary(), unwritten: 0 };
        this.minutes.set(key, entry);
      }
      countFrame(entry.summary, profile, {
        time: record.time,
        characteristics: record.characteristics,
        label: record.sensorStatus ? null : record.sensorValue,
        error: record.error,
      });
      entry.unwritten++;
    }
  }

  /** Writes every minute counted into since the last flush; a failing store leaves them for the next one (logged). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    const dirty = [...this.minutes.values()].filter((m) => m.unwritten > 0);
    const counted = dirty.map((m) => m.unwritten);
    const rows: DriftSummaryRow[] = dirty.map(({ row, summary }) => ({
      ...row,
      frames: summary.frames,
      firstTime: summary.windowStart!,
      lastTime: summary.windowEnd!,
      summary: encodeSummary(summary),
    }));
    if (rows.length > 0) {
      try {
        await this.options.measurements.writeDriftSummaries(rows);
      } catch (err) {
        this.options.log.warn({ err: (err as Error).message, rows: rows.length }, 'drift summaries not written; kept for the next flush');
        return;
      }
      dirty.forEach((m, i) => (m.unwritten -= counted[i]));
    }
    const oldest = Date.now() - KEEP_MS;
    for (const [key, m] of this.minutes) if (m.unwritten === 0 && m.row.minute + MINUTE_MS < oldest) this.minutes.delete(key);
  }
}
