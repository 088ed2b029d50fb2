import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CameraTimeoutError, type CameraFrame } from '../../edge/hardware/devices.js';
import type { DeviceLog } from '../../edge/hardware/deviceLog.js';
import { PiCamera, restartDelayMs, type PiCameraOptions } from '../../edge/hardware/piCamera.js';
import { eventually } from '../support/eventually.js';
import { fixtureJpegs } from '../support/jpegs.js';
import { isAlive } from '../support/processTree.js';

const FAKE_CAMERA = fileURLToPath(new URL('../fixtures/fakeCamera.mjs', import.meta.url));
const JPEGS = fixtureJpegs();

const cameras: PiCamera[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(cameras.splice(0).map((c) => c.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function recordingLog() {
  const lines: { level: string; fields: object; message: string }[] = [];
  const at = (level: string) => (fields: object, message: string) => lines.push({ level, fields, message });
  const log: DeviceLog = { info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

function pidFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fake-camera-'));
  dirs.push(dir);
  return path.join(dir, 'pids');
}

const pidsIn = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map(Number);

function fakeCamera(fakeArgs: string[], options: PiCameraOptions = {}): PiCamera {
  const camera = new PiCamera({ programs: [process.execPath], programArgs: [FAKE_CAMERA, ...fakeArgs], ...options });
  cameras.push(camera);
  return camera;
}

const isFixtureJpeg = (frame: CameraFrame) => JPEGS.some((jpeg) => jpeg.equals(frame.jpeg));

describe('PiCamera', () => {
  it('delivers the MJPEG stream as whole JPEG frames, the newest one each time, and logs the process stderr', async () => {
    const { log, lines } = recordingLog();
    const camera = fakeCamera(['--frames', '0', '--interval-ms', '20'], { log });
    await camera.start();
    const frames: CameraFrame[] = [];
    for (let i = 0; i < 5; i++) frames.push(await camera.nextFrame(10_000));
    for (const frame of frames) expect(isFixtureJpeg(frame)).toBe(true);
    expect(frames.map((f) => f.seq)).toEqual([...frames.map((f) => f.seq)].sort((a, b) => a - b));
    expect(new Set(frames.map((f) => f.seq)).size).toBe(5);

    // A slow reader gets the newest frame, not the next one.
    const last = frames[4].seq;
    await eventually(() => expect(camera.framesReceived).toBeGreaterThanOrEqual(last + 3));
    const newest = await camera.nextFrame(10_000);
    expect(newest.seq).toBeGreaterThanOrEqual(last + 3);
    expect(lines.some((l) => l.message.startsWith('fake camera: endless frames'))).toBe(true);
  });

  it('starts a process that died again, and frames continue', async () => {
    const pids = pidFile();
    const { log, lines } = recordingLog();
    const camera = fakeCamera(['--frames', '3', '--interval-ms', '10', '--exit-code', '1', '--pid-file', pids], {
      log,
      restart: { firstDelayMs: 50, maxDelayMs: 200 },
    });
    await camera.start();
    const frames: CameraFrame[] = [];
    while (frames.length === 0 || frames.at(-1)!.seq < 10) frames.push(await camera.nextFrame(30_000));
    for (const frame of frames) expect(isFixtureJpeg(frame)).toBe(true);
    await camera.stop();
    expect(camera.restarts).toBeGreaterThanOrEqual(3);
    // Each restart is a new process (the last one may have been stopped before it wrote its pid).
    const distinct = new Set(pidsIn(pids)).size;
    expect(distinct).toBeGreaterThanOrEqual(3);
    expect(distinct).toBeLessThanOrEqual(camera.restarts + 1);
    const died = lines.filter((l) => l.message === 'camera process died');
    expect(died.length).toBeGreaterThanOrEqual(3);
    expect(died[0].fields).toMatchObject({ code: 1 });
  });

  it('waits longer after each quick death, up to the bound, and from the start again after a minute alive', () => {
    const delays: number[] = [];
    let previous: number | null = null;
    for (let i = 0; i < 6; i++) delays.push((previous = restartDelayMs(previous, 500)));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(restartDelayMs(10_000, 59_999)).toBe(10_000);
    expect(restartDelayMs(10_000, 60_000)).toBe(1_000);
  });

  it('stop ends the process (killing one that ignores SIGTERM) and no restart follows', async () => {
    for (const extra of [[], ['--ignore-sigterm']]) {
      const pids = pidFile();
      const camera = fakeCamera(['--frames', '0', '--pid-file', pids, ...extra], { stopDeadlineMs: 300, restart: { firstDelayMs: 10 } });
      await camera.start();
      await camera.nextFrame(10_000);
      const [pid] = pidsIn(pids);
      expect(isAlive(pid)).toBe(true);
      await camera.stop();
      expect(isAlive(pid), `after stop with ${extra.join(' ') || 'no options'}`).toBe(false);
      await expect(camera.nextFrame(100)).rejects.toThrow(/not started/);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pidsIn(pids)).toEqual([pid]);
      expect(camera.restarts).toBe(0);
    }
  });

  it('times out when no frame comes', async () => {
    const camera = fakeCamera(['--frames', '1'], { restart: { firstDelayMs: 60_000 } });
    await camera.start();
    await camera.nextFrame(10_000);
    await expect(camera.nextFrame(100)).rejects.toBeInstanceOf(CameraTimeoutError);
  });

  it('falls back to the next program when one is not installed, and says so when none is', async () => {
    const fallback = fakeCamera(['--frames', '0'], { programs: ['/nonexistent/rpicam-vid', process.execPath] });
    await fallback.start();
    expect(isFixtureJpeg(await fallback.nextFrame(10_000))).toBe(true);

    const none = fakeCamera([], { programs: ['/nonexistent/rpicam-vid', '/nonexistent/libcamera-vid'] });
    await expect(none.start()).rejects.toThrow(
      /cannot start the camera: \/nonexistent\/rpicam-vid or \/nonexistent\/libcamera-vid.*ENOENT/,
    );
  });
});
