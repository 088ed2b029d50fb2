/**
 * The Pi's camera through its own camera stack: `rpicam-vid` (called `libcamera-vid` before Raspberry Pi OS
 * Bookworm) writes MJPEG to stdout, MjpegFrames splits it, and the newest frame waits for the agent. A process that
 * dies (camera unplugged, pipeline error) is started again after a pause that doubles from 1 s to 10 s, and is back
 * to 1 s once a process has lived for a minute.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CameraTimeoutError, type Camera, type CameraFrame } from './devices.js';
import { silentLog, type DeviceLog } from './deviceLog.js';
import { MjpegFrames } from './mjpegFrames.js';

export interface RestartPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
  /** A process that lived this long before it died is restarted after `firstDelayMs` again. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { firstDelayMs: 1_000, maxDelayMs: 10_000, resetAfterMs: 60_000 };

/** How long to wait before starting the camera process again, given the last pause and how long it lived. */
export function restartDelayMs(previousDelayMs: number | null, aliveMs: number, policy: RestartPolicy = DEFAULT_RESTART_POLICY): number {
  if (previousDelayMs === null || aliveMs >= policy.resetAfterMs) return policy.firstDelayMs;
  return Math.min(previousDelayMs * 2, policy.maxDelayMs);
}

export interface PiCameraOptions {
  width?: number;
  height?: number;
  framerate?: number;
  /** Programs tried in order until one exists (tests give a fake camera). */
  programs?: string[];
  /** Arguments put before the camera arguments (a fake camera's script). */
  programArgs?: string[];
  restart?: Partial<RestartPolicy>;
  maxFrameBytes?: number;
  /** After stop() asks the process to end (SIGTERM), how long before it is killed. */
  stopDeadlineMs?: number;
  log?: DeviceLog;
}

interface Waiter {
  resolve(frame: CameraFrame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class PiCamera implements Camera {
  /** Camera processes started again after one died. */
  restarts = 0;
  private readonly programs: string[];
  private readonly args: string[];
  private readonly policy: RestartPolicy;
  private readonly log: DeviceLog;
  private programIndex = 0;
  private running = false;
  private child: ChildProcess | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private lastDelayMs: number | null = null;
  private seq = 0;
  private latest: CameraFrame | null = null;
  private returnedSeq = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly options: PiCameraOptions = {}) {
    this.programs = options.programs ?? ['rpicam-vid', 'libcamera-vid'];
    const { width = 320, height = 240, framerate = 4 } = options;
    this.args = [
      ...(options.programArgs ?? []),
      ...['-t', '0', '--codec', 'mjpeg', '--framerate', String(framerate), '--width', String(width), '--height', String(height)],
      // --flush: without it the camera's stdio buffer holds each frame's tail until the next frame pushes it out.
      ...['--nopreview', '--flush', '-o', '-'],
    ];
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.log = options.log ?? silentLog;
  }

  /** Frames received since start (the agent may have skipped some: it gets the newest). */
  get framesReceived(): number {
    return this.seq;
  }

  /** Resolves once a camera process runs; rejects when none of the programs exists. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.launch();
    } catch (error) {
      this.running = false;
      throw error;
    }
  }

  nextFrame(timeoutMs: number): Promise<CameraFrame> {
    if (!this.running) return Promise.reject(new Error('the camera is not started'));
    if (this.latest && this.latest.seq > this.returnedSeq) return Promise.resolve(this.take(this.latest));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new CameraTimeoutError(`no camera frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the camera was stopped'));
    }
    this.waiters.clear();
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), this.options.stopDeadlineMs ?? 2_000);
    await exited;
    clearTimeout(killer);
  }

  private take(frame: CameraFrame): CameraFrame {
    this.returnedSeq = frame.seq;
    return frame;
  }

  private onFrame(jpeg: Buffer): void {
    const frame: CameraFrame = { jpeg, capturedAt: Date.now(), seq: ++this.seq };
    this.latest = frame;
    const [waiter] = this.waiters;
    if (!waiter) return;
    this.waiters.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.resolve(this.take(frame));
  }

  /** Starts the first of the programs that exists; rejects only when none does. */
  private launch(): Promise<void> {
    return new Promise((resolve, reject) => {
      const program = this.programs[this.programIndex];
      const child = spawn(program, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return this.log.error({ program, err: error.message }, 'camera process error');
        if (error.code === 'ENOENT' && this.programIndex + 1 < this.programs.length) {
          this.programIndex++;
          this.launch().then(resolve, reject);
          return;
        }
        this.programIndex = 0;
        reject(new Error(`cannot start the camera: ${this.programs.join(' or ')}: ${error.message} (is rpicam-apps installed?)`));
      });
      child.once('spawn', () => {
        if (!this.running) {
          child.kill('SIGTERM');
          return resolve();
        }
        this.child = child;
        this.watch(child, program);
        resolve();
      });
    });
  }

  private watch(child: ChildProcess, program: string): void {
    const startedAt = Date.now();
    const frames = new MjpegFrames(this.options.maxFrameBytes);
    frames.on('data', (jpeg: Buffer) => this.onFrame(jpeg));
    child.stdout!.pipe(frames);
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.info({ camera: program }, line));
    this.log.info({ program, pid: child.pid }, 'camera process started');
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.running) return;
      this.log.warn({ program, code, signal, frames: frames.stats }, 'camera process died');
      this.scheduleRestart(Date.now() - startedAt);
    });
  }

  private scheduleRestart(aliveMs: number): void {
    const delayMs = restartDelayMs(this.lastDelayMs, aliveMs, this.policy);
    this.lastDelayMs = delayMs;
    this.log.info({ aliveMs, restartInMs: delayMs }, 'camera restart scheduled');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.running) return;
      this.restarts++;
      this.launch().catch((error: Error) => {
        // The program is gone (being upgraded?): keep trying, as for a process that died at once.
        this.log.error({ err: error.message }, 'camera restart failed');
        if (this.running) this.scheduleRestart(0);
      });
    }, delayMs);
  }
}
