/**
 * Store and forward on the rover's disk: frames the API did not take (no answer, 503, 429) and run reports it could
 * not be given wait in a folder bounded in bytes, and a forwarder sends them oldest first once the API is back, one at
 * a time beside the live frames. Each item is a meta file (JSON) written after its JPEG, both by write + rename, so a
 * crash leaves either a whole item or a leftover the next start deletes; the folder outlives a restart of the agent.
 * When the bound is reached the oldest frames are dropped first (and counted); run reports are dropped only when no
 * frame is left to drop.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ParkingRunReport } from '../../contracts/http/parking.js';

export interface StoredFrame {
  /** The frame's idempotency key: sending it again can never store it twice. */
  key: string;
  jpeg: Buffer;
  /** Epoch ms when it was taken: sent as its age (`frame_age_ms`). */
  capturedAt: number;
  /** What goes as `sensor_value` (a distance, or the sensor's raw error code); null: none. */
  sensorMm: number | null;
}

type Meta =
  { kind: 'frame'; key: string; capturedAt: number; sensorMm: number | null } | { kind: 'run'; report: ParkingRunReport; storedAt: number };

export type OutboxItem = { kind: 'frame'; frame: StoredFrame } | { kind: 'run'; report: ParkingRunReport };

/** What the forwarder did with an item: it was taken (or refused for good: sending it again cannot help), or not now. */
export type ForwardOutcome = 'taken' | 'refused' | 'retry';

export interface OutboxOptions {
  dir: string;
  maxBytes: number;
  /** Sends one item; never throws. */
  send: (item: OutboxItem) => Promise<ForwardOutcome>;
  /** First wait after the API did not take an item, doubled up to `maxRetryMs` (defaults 1 s and 10 s). */
  retryMs?: number;
  maxRetryMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface OutboxStats {
  frames: number;
  runs: number;
  bytes: number;
  /** Items dropped to stay within the byte bound since the agent started. */
  dropped: number;
  /** Items forwarded since the agent started, and those the API refused for good. */
  forwarded: number;
  refused: number;
}

interface Entry {
  name: string;
  kind: Meta['kind'];
  bytes: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Outbox {
  private entries: Entry[] = [];
  private bytes = 0;
  private seq = 0;
  private dropped = 0;
  private forwarded = 0;
  private refused = 0;
  /** Serialises writes and deletes of the folder's index (entries). */
  private chain: Promise<unknown> = Promise.resolve();
  private loop?: Promise<void>;
  private stopping = new AbortController();
  private wakeUp = new AbortController();

  private constructor(private readonly options: OutboxOptions) {}

  /** Opens the folder: finishes what a crash left (half-written items are deleted) and counts what waits. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(options);
    await mkdir(options.dir, { recursive: true });
    const names = (await readdir(options.dir)).sort();
    const metas = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length)));
    for (const name of names) {
      const base = name.replace(/\.(json|jpg)$/, '');
      if (name.includes('.tmp') || !metas.has(base)) await rm(path.join(options.dir, name), { force: true });
    }
    for (const base of metas) {
      try {
        const meta = JSON.parse(await readFile(path.join(options.dir, `${base}.json`), 'utf8')) as Meta;
        let bytes = (await stat(path.join(options.dir, `${base}.json`))).size;
        if (meta.kind === 'frame') bytes += (await stat(path.join(options.dir, `${base}.jpg`))).size;
        outbox.entries.push({ name: base, kind: meta.kind, bytes });
        outbox.bytes += bytes;
      } catch (err) {
        options.log?.('outbox item unreadable, deleted', { item: base, err: String(err) });
        await outbox.remove(base);
      }
    }
    outbox.seq = outbox.entries.length ? Number(outbox.entries[outbox.entries.length - 1].name.split('-')[1]) + 1 : 0;
    return outbox;
  }

  stats(): OutboxStats {
    const count = (kind: Meta['kind']) => this.entries.filter((e) => e.kind === kind).length;
    return {
      frames: count('frame'),
      runs: count('run'),
      bytes: this.bytes,
      dropped: this.dropped,
      forwarded: this.forwarded,
      refused: this.refused,
    };
  }

  /** Keeps a frame until the forwarder gets it to the API. */
  addFrame(frame: StoredFrame): Promise<void> {
    const meta: Meta = { kind: 'frame', key: frame.key, capturedAt: frame.capturedAt, sensorMm: frame.sensorMm };
    return this.add(meta, frame.jpeg);
  }

  addRun(report: ParkingRunReport): Promise<void> {
    return this.add({ kind: 'run', report, storedAt: Date.now() });
  }

  /** Starts forwarding in the background (oldest first, one at a time). */
  start(): void {
    this.loop ??= this.forwardLoop();
  }

  /** The API answered a live frame: try the waiting items now instead of after the retry wait. */
  wake(): void {
    this.wakeUp.abort();
  }

  /** Stops forwarding after the item in flight; what waits stays on disk for the next start. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.loop;
    await this.chain;
  }

  private add(meta: Meta, jpeg?: Buffer): Promise<void> {
    return this.serial(async () => {
      // Sortable by when it was stored: `<zero-padded seq>`; the sequence goes on after a restart.
      const name = `item-${String(this.seq++).padStart(12, '0')}`;
      const json = Buffer.from(JSON.stringify(meta));
      const bytes = json.length + (jpeg?.length ?? 0);
      if (bytes > this.options.maxBytes) {
        this.dropped++;
        this.options.log?.('outbox item larger than the bound, dropped', { bytes, maxBytes: this.options.maxBytes });
        return;
      }
      while (this.bytes + bytes > this.options.maxBytes) {
        const oldest = this.entries.find((e) => e.kind === 'frame') ?? this.entries[0];
        this.forget(oldest);
        await this.remove(oldest.name);
        this.dropped++;
        this.options.log?.('outbox full, oldest dropped', { item: oldest.name, kind: oldest.kind, dropped: this.dropped });
      }
      if (jpeg) await writeAtomic(path.join(this.options.dir, `${name}.jpg`), jpeg);
      await writeAtomic(path.join(this.options.dir, `${name}.json`), json);
      this.entries.push({ name, kind: meta.kind, bytes });
      this.bytes += bytes;
    });
  }

  private forget(entry: Entry): void {
    this.entries = this.entries.filter((e) => e !== entry);
    this.bytes -= entry.bytes;
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async remove(name: string): Promise<void> {
    await rm(path.join(this.options.dir, `${name}.json`), { force: true });
    await rm(path.join(this.options.dir, `${name}.jpg`), { force: true });
  }

  private async read(entry: Entry): Promise<OutboxItem> {
    const meta = JSON.parse(await readFile(path.join(this.options.dir, `${entry.name}.json`), 'utf8')) as Meta;
    if (meta.kind === 'run') return { kind: 'run', report: meta.report };
    const jpeg = await readFile(path.join(this.options.dir, `${entry.name}.jpg`));
    return { kind: 'frame', frame: { key: meta.key, jpeg, capturedAt: meta.capturedAt, sensorMm: meta.sensorMm } };
  }

  private async forwardLoop(): Promise<void> {
    const firstWaitMs = this.options.retryMs ?? 1000;
    const maxWaitMs = this.options.maxRetryMs ?? 10_000;
    let waitMs = firstWaitMs;
    while (!this.stopping.signal.aborted) {
      const entry = this.entries[0];
      if (!entry) {
        await this.idle(maxWaitMs);
        continue;
      }
      let outcome: ForwardOutcome;
      try {
        outcome = await this.options.send(await this.read(entry));
      } catch (err) {
        // Gone (dropped for the bound meanwhile) or unreadable: nothing to send.
        this.options.log?.('outbox item unreadable, deleted', { item: entry.name, err: String(err) });
        outcome = 'refused';
      }
      if (outcome === 'retry') {
        await this.idle(waitMs);
        waitMs = Math.min(maxWaitMs, waitMs * 2);
        continue;
      }
      waitMs = firstWaitMs;
      if (outcome === 'taken') this.forwarded++;
      else this.refused++;
      await this.serial(async () => {
        if (!this.entries.includes(entry)) return;
        this.forget(entry);
        await this.remove(entry.name);
      });
    }
  }

  /** Waits `ms`, or less when woken (also by a wake that came while it was sending) or stopped. */
  private async idle(ms: number): Promise<void> {
    if (!this.wakeUp.signal.aborted) await sleep(ms, AbortSignal.any([this.wakeUp.signal, this.stopping.signal]));
    if (this.wakeUp.signal.aborted) this.wakeUp = new AbortController();
  }
}

/** Write, flush to the card, rename: a rover's battery running out must not leave a named but empty file. */
async function writeAtomic(file: string, data: Buffer): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
