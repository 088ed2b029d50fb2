/**
 * A simulated rover for the agent: the simulated world seen by the simulated camera, ranged by the real VL53L0X
 * driver over the simulated register map, and moved by the simulated drive. Each parking run starts in a new world
 * (seeded per run), so the camera and the drive follow the world of the run in progress.
 */
import { createRng } from '../../core/random.js';
import { laserRangeMm, type LaserOptions } from '../laser.js';
import type { Camera, CameraFrame, Drive, RangeSensor } from '../hardware/devices.js';
import { SimulatedCamera } from '../hardware/simulatedCamera.js';
import { SimulatedDrive } from '../hardware/simulatedDrive.js';
import { SimulatedVl53l0x } from '../hardware/simulatedVl53l0x.js';
import { SimulatedWorld } from '../hardware/simulatedWorld.js';
import { Vl53l0x } from '../hardware/vl53l0x.js';
import type { SpeedTier } from '../speedTiers.js';
import type { SimulatedRun } from './agent.js';

export interface SimulatedRoverOptions {
  preset: string;
  seed?: number;
  /** Wall-clock time between frames (default 250 ms: the real camera's 4 frames/s). */
  frameIntervalMs?: number;
  /** Simulated driving time per frame (default 0.25 s). */
  secondsPerFrame?: number;
  /** Every run's start distance (default: the preset's random start). */
  startMm?: number;
  /** The laser's noise and dropouts (edge/laser.ts). */
  laser?: LaserOptions;
}

export class SimulatedRover {
  /** The register map the driver talks to: unplug it, inject error statuses, hang it. */
  readonly sensor: SimulatedVl53l0x;
  readonly camera: Camera;
  readonly laser: RangeSensor;
  readonly drive: Drive;
  readonly simulated: SimulatedRun;
  readonly secondsPerFrame: number;
  world: SimulatedWorld;
  private runCamera: SimulatedCamera;
  private runDrive: SimulatedDrive;
  private cameraStarted = false;

  constructor(private readonly options: SimulatedRoverOptions) {
    this.secondsPerFrame = options.secondsPerFrame ?? 0.25;
    this.world = this.newWorld(0);
    this.runCamera = this.newCamera(0);
    this.runDrive = new SimulatedDrive(this.world);
    this.sensor = new SimulatedVl53l0x({
      rangeMm: () => laserRangeMm(this.world.trueMm, this.world.angleDeg),
      rng: createRng((options.seed ?? 1) + 0.5),
      laser: options.laser,
    });
    this.laser = new Vl53l0x(this.sensor);
    this.camera = {
      start: async () => {
        this.cameraStarted = true;
        await this.runCamera.start();
      },
      nextFrame: (timeoutMs: number): Promise<CameraFrame> => this.runCamera.nextFrame(timeoutMs),
      stop: async () => {
        this.cameraStarted = false;
        await this.runCamera.stop();
      },
    };
    this.drive = {
      set: (tier: SpeedTier) => this.runDrive.set(tier),
      stopNow: () => this.runDrive.stopNow(),
      close: () => this.runDrive.close(),
    };
    this.simulated = {
      preset: this.world.preset.id,
      beforeRun: (index) => this.beforeRun(index),
      trueMm: () => this.world.trueMm,
    };
  }

  /** Puts the rover in a new world for run `index` (the first run keeps the one it was built with). */
  private async beforeRun(index: number): Promise<void> {
    if (index === 0) return;
    this.runDrive.stopNow();
    await this.runCamera.stop();
    this.world = this.newWorld(index);
    this.runCamera = this.newCamera(index);
    this.runDrive = new SimulatedDrive(this.world);
    if (this.cameraStarted) await this.runCamera.start();
  }

  private newWorld(index: number): SimulatedWorld {
    return new SimulatedWorld({
      preset: this.options.preset,
      seed: (this.options.seed ?? 1) * 100_003 + index,
      startMm: this.options.startMm,
    });
  }

  private newCamera(index: number): SimulatedCamera {
    return new SimulatedCamera(this.world, {
      intervalMs: this.options.frameIntervalMs ?? 250,
      simulatedSecondsPerFrame: this.secondsPerFrame,
      seed: (this.options.seed ?? 1) * 7 + index,
    });
  }
}
