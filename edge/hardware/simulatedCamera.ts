/**
 * The simulated rover's camera: the renderer (edge/camera.ts) looking at the simulated world. Each frame is one step
 * of simulated time, so the world moves at the drive's tier between two frames, as a real rover does between two
 * exposures.
 */
import { renderFrame } from '../camera.js';
import { createRng, type Rng } from '../../core/random.js';
import { CameraTimeoutError, type Camera, type CameraFrame } from './devices.js';
import type { SimulatedWorld } from './simulatedWorld.js';

export interface SimulatedCameraOptions {
  /** Wall-clock time between two frames (the real camera's 4 frames/s); 0 renders as fast as asked. */
  intervalMs?: number;
  /** How much simulated time one frame moves the world. */
  simulatedSecondsPerFrame?: number;
  /** Seeds the renderer's per-frame jitter (the world has its own seed). */
  seed?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SimulatedCamera implements Camera {
  private readonly intervalMs: number;
  private readonly simulatedSecondsPerFrame: number;
  private readonly rng: Rng;
  private running = false;
  private seq = 0;
  private lastFrameAt: number | null = null;

  constructor(
    private readonly world: SimulatedWorld,
    options: SimulatedCameraOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 250;
    this.simulatedSecondsPerFrame = options.simulatedSecondsPerFrame ?? 0.25;
    this.rng = createRng(options.seed ?? 1);
  }

  async start(): Promise<void> {
    this.running = true;
  }

  async nextFrame(timeoutMs: number): Promise<CameraFrame> {
    if (!this.running) throw new Error('the simulated camera is not started');
    const dueAt = this.lastFrameAt === null ? 0 : this.lastFrameAt + this.intervalMs;
    const waitMs = Math.max(0, dueAt - Date.now());
    if (waitMs > timeoutMs) {
      await sleep(timeoutMs);
      throw new CameraTimeoutError(`no frame within ${timeoutMs} ms (the next is due in ${waitMs} ms)`);
    }
    // Timers run on a monotonic clock and can fire a millisecond before Date.now() reaches the due time: wait it out.
    for (let left = waitMs; left > 0; left = dueAt - Date.now()) await sleep(left);
    if (!this.running) throw new Error('the simulated camera was stopped');
    this.world.advance(this.simulatedSecondsPerFrame);
    const { preset, trueMm, angleDeg, lateralMm } = this.world;
    const capturedAt = Date.now();
    this.lastFrameAt = capturedAt;
    const jpeg = await renderFrame(preset.scene, { distanceMm: trueMm, angleDeg, lateralMm }, this.rng);
    return { jpeg, capturedAt, seq: ++this.seq };
  }

  async stop(): Promise<void> {
    this.running = false;
  }
}
