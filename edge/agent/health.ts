/**
 * The agent's health file: one JSON document, rewritten every second (write + rename, so a reader never sees half of
 * it), for `cat`, a monitoring agent or a systemd watchdog script. `updatedAt` going stale means the agent hangs.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { NoReadingReason } from '../hardware/devices.js';
import type { OutboxStats } from './outbox.js';

export interface HealthSnapshot {
  state: 'starting' | 'driving' | 'stopped' | 'between-runs' | 'finished' | 'failed';
  pid: number;
  updatedAt: string;
  clientId: string;
  deployment: string | null;
  mode: string;
  run: { index: number; id: string; frames: number } | null;
  runsDone: number;
  lastFrame: { seq: number; capturedAt: string } | null;
  api: { reachable: boolean | null; lastAnswerAt: string | null; lastError: string | null };
  outbox: OutboxStats;
  laser: { mm: number } | { reason: NoReadingReason; raw?: number } | null;
  cameraRestarts: number;
}

export class HealthFile {
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly snapshot: () => Omit<HealthSnapshot, 'updatedAt' | 'pid'>,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.write(), this.intervalMs);
    this.timer.unref();
    void this.write();
  }

  /** Writes the current state now (also the last one, at exit). */
  write(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const body: HealthSnapshot = { ...this.snapshot(), pid: process.pid, updatedAt: new Date().toISOString() };
      const temp = `${this.file}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify(body, null, 2)}\n`);
        await rename(temp, this.file);
      } catch {
        // A full or read-only disk must not stop the rover; the log says what it does.
      }
    });
    return this.writing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.write();
  }
}
