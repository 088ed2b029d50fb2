import { describe, expect, it, vi } from 'vitest';
import { CameraTimeoutError } from '../../edge/hardware/devices.js';
import { SimulatedCamera } from '../../edge/hardware/simulatedCamera.js';
import { SimulatedDrive } from '../../edge/hardware/simulatedDrive.js';
import { SimulatedWorld } from '../../edge/hardware/simulatedWorld.js';

const isJpeg = (b: Buffer) => b[0] === 0xff && b[1] === 0xd8 && b.at(-2) === 0xff && b.at(-1) === 0xd9;

describe('simulated camera and drive', () => {
  it('the drive moves the world one frame at its tier per frame; stopNow holds it', async () => {
    const world = new SimulatedWorld({ preset: 'beige-350', seed: 3, startMm: 600, angleDeg: 0 });
    const camera = new SimulatedCamera(world, { intervalMs: 0, seed: 3 });
    const drive = new SimulatedDrive(world);
    await camera.start();

    const first = await camera.nextFrame(5_000);
    expect(world.trueMm).toBe(600);
    await drive.set('fast');
    const second = await camera.nextFrame(5_000);
    // fast is 160 mm/s; a frame is 0.25 s of simulated time (5% wheel slip noise).
    expect(600 - world.trueMm).toBeGreaterThan(40 * 0.7);
    expect(600 - world.trueMm).toBeLessThan(40 * 1.3);
    drive.stopNow();
    drive.stopNow();
    const held = world.trueMm;
    const third = await camera.nextFrame(5_000);
    expect(world.trueMm).toBe(held);
    expect(world.tier).toBe('stop');

    expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
    for (const frame of [first, second, third]) expect(isJpeg(frame.jpeg)).toBe(true);
    await camera.stop();
    await drive.close();
  });

  it('frames come no closer than intervalMs apart, and a frame not due within the timeout is a CameraTimeoutError', async () => {
    const world = new SimulatedWorld({ preset: 'beige-350', seed: 4 });
    const paced = new SimulatedCamera(world, { intervalMs: 120 });
    await paced.start();
    const a = await paced.nextFrame(5_000);
    const b = await paced.nextFrame(5_000);
    expect(b.capturedAt - a.capturedAt).toBeGreaterThanOrEqual(120);

    const slow = new SimulatedCamera(world, { intervalMs: 60_000 });
    await slow.start();
    await slow.nextFrame(5_000);
    await expect(slow.nextFrame(20)).rejects.toBeInstanceOf(CameraTimeoutError);
    await Promise.all([paced.stop(), slow.stop()]);
  });

  // Node's timers run on a monotonic clock and can fire a millisecond before Date.now() says they are due (CI saw
  // frames 119 ms apart at intervalMs 120): timers firing 5 ms early make that certain.
  it('keeps frames intervalMs apart by the wall clock when its timers fire early', async () => {
    const realSetTimeout = globalThis.setTimeout;
    vi.stubGlobal('setTimeout', (fn: () => void, ms = 0) => realSetTimeout(fn, Math.max(0, ms - 5)));
    try {
      const camera = new SimulatedCamera(new SimulatedWorld({ preset: 'beige-350', seed: 4 }), { intervalMs: 120 });
      await camera.start();
      const a = await camera.nextFrame(5_000);
      const b = await camera.nextFrame(5_000);
      await camera.stop();
      expect(b.capturedAt - a.capturedAt).toBeGreaterThanOrEqual(120);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
