/**
 * The rover agent's command line: `npm run rover -- agent ...` here, `node rover-agent.js ...` on the Pi (the bundle
 * of this file, see scripts/buildRoverAgent.ts). Real devices and the simulated rover are imported only when asked
 * for: the simulated one needs the renderer (sharp), the real one the I2C package, and neither needs the other.
 * Exit code 2 on bad arguments, 1 when the agent could not run.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino, { type Logger } from 'pino';
import { OperatorError, parseCommandLine, reportCommandError, UsageError } from '../../core/commandLine.js';
import type { SteeringMode } from '../../core/parking/parkingOutcome.js';
import type { Camera, Drive, RangeSensor } from '../hardware/devices.js';
import { RoverClient } from '../roverClient.js';
import { forwardThrough, RoverAgent, type SimulatedRun } from './agent.js';
import { CredentialsError, readCredentials } from './credentials.js';
import { Outbox } from './outbox.js';
import { DEFAULT_FRESH_MS } from './steering.js';

export const AGENT_USAGE = `usage: npm run rover -- agent --credentials FILE --api URL [options]
       (on the rover: node /opt/rover-agent/rover-agent.js --credentials FILE --api URL [options])

Drives parking runs: takes camera frames, reads the laser, sends both to the API, steers by the model's prediction
when it arrives in time and by the laser otherwise, stops when either says <= 20 mm and never drives blind. Frames
the API does not take are kept on disk and sent when it is back. Logs one JSON line per state change and per run.
  --credentials FILE           CLIENT_ID= and TOKEN= lines; mode 0600 or stricter (chmod 600 FILE)
  --api URL                    the API, e.g. https://mlops.example.org
  --runs N                     (1) parking runs to drive
  --mode model|laser           (model) steer by the model (laser as back-up), or by the laser alone (the baseline)
  --fresh-ms MS                (${DEFAULT_FRESH_MS}) how old a prediction's frame may be to steer by it
  --max-frames N               (400) frames per run at most
  --outbox DIR                 (./rover-outbox) where frames and run reports wait for the API
  --outbox-max-bytes N         (200000000) the outbox's bound; the oldest frames are dropped beyond it
  --health-file FILE           keep a JSON health file here, rewritten every second
  --timeout-ms MS              (5000) per request to the API
  --check                      read the laser once and take one camera frame, print them, and exit
simulated rover (no hardware; needs the renderer):
  --simulate PRESET            drive in a preset's simulated world (beige-250, green-350, ...)
  --seed N                     (1) the simulated world's seed
  --frame-interval-ms MS       (250) wall-clock time between frames
real rover (Raspberry Pi; see docs/ROVER.md):
  --camera rpicam              (rpicam) rpicam-vid, or libcamera-vid where that is what is installed
  --i2c-bus N                  (1) the VL53L0X's I2C bus (header pins 3/5: SDA GPIO2, SCL GPIO3)
  --pwm-chip N                 (0) /sys/class/pwm/pwmchipN
  --pwm-channel N              (0) the drive's PWM channel
  -h, --help                   this text`;

export interface AgentCommand {
  credentials: string;
  apiUrl: string;
  runs: number;
  mode: SteeringMode;
  freshMs: number;
  maxFrames: number;
  outboxDir: string;
  outboxMaxBytes: number;
  healthFile?: string;
  timeoutMs: number;
  check: boolean;
  simulate?: { preset: string; seed: number; frameIntervalMs: number };
  real: { camera: 'rpicam'; i2cBus: number; pwmChip: number; pwmChannel: number };
}

function integer(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export function parseAgentArgs(argv: string[]): AgentCommand {
  const { values: v } = parseCommandLine(argv, {
    credentials: { type: 'string' },
    api: { type: 'string' },
    runs: { type: 'string' },
    mode: { type: 'string' },
    'fresh-ms': { type: 'string' },
    'max-frames': { type: 'string' },
    outbox: { type: 'string' },
    'outbox-max-bytes': { type: 'string' },
    'health-file': { type: 'string' },
    'timeout-ms': { type: 'string' },
    check: { type: 'boolean' },
    simulate: { type: 'string' },
    seed: { type: 'string' },
    'frame-interval-ms': { type: 'string' },
    camera: { type: 'string' },
    'i2c-bus': { type: 'string' },
    'pwm-chip': { type: 'string' },
    'pwm-channel': { type: 'string' },
  });
  const check = v.check ?? false;
  const mode = v.mode ?? 'model';
  if (mode !== 'model' && mode !== 'laser') throw new UsageError(`--mode must be model or laser, got "${mode}"`);
  const camera = v.camera ?? 'rpicam';
  if (camera !== 'rpicam') throw new UsageError(`--camera must be rpicam, got "${camera}"`);
  if (!check && !v.credentials) throw new UsageError('--credentials FILE is required');
  if (!check && !v.api) throw new UsageError('--api URL is required');
  if (v.api !== undefined && !URL.canParse(v.api)) throw new UsageError(`--api must be a URL, got "${v.api}"`);
  if (v.simulate === undefined && (v.seed !== undefined || v['frame-interval-ms'] !== undefined))
    throw new UsageError('--seed and --frame-interval-ms are for a simulated rover: give --simulate PRESET');
  return {
    credentials: v.credentials ?? '',
    apiUrl: v.api ?? '',
    runs: integer('runs', v.runs, 1, 1),
    mode,
    freshMs: integer('fresh-ms', v['fresh-ms'], DEFAULT_FRESH_MS, 0),
    maxFrames: integer('max-frames', v['max-frames'], 400, 1),
    outboxDir: v.outbox ?? path.resolve('rover-outbox'),
    outboxMaxBytes: integer('outbox-max-bytes', v['outbox-max-bytes'], 200_000_000, 100_000),
    healthFile: v['health-file'],
    timeoutMs: integer('timeout-ms', v['timeout-ms'], 5000, 1),
    check,
    simulate:
      v.simulate === undefined
        ? undefined
        : {
            preset: v.simulate,
            seed: integer('seed', v.seed, 1, 0),
            frameIntervalMs: integer('frame-interval-ms', v['frame-interval-ms'], 250, 0),
          },
    real: {
      camera,
      i2cBus: integer('i2c-bus', v['i2c-bus'], 1, 0),
      pwmChip: integer('pwm-chip', v['pwm-chip'], 0, 0),
      pwmChannel: integer('pwm-channel', v['pwm-channel'], 0, 0),
    },
  };
}

interface Devices {
  camera: Camera;
  laser: RangeSensor;
  drive: Drive;
  simulated?: SimulatedRun;
  secondsPerFrame?: number;
}

async function openDevices(cmd: AgentCommand, log: Logger): Promise<Devices> {
  if (cmd.simulate) {
    const { SimulatedRover } = await import('./simulatedRover.js');
    const { isPresetId, PRESET_IDS } = await import('../presets.js');
    if (!isPresetId(cmd.simulate.preset))
      throw new UsageError(`unknown preset "${cmd.simulate.preset}"; valid presets: ${PRESET_IDS.join(', ')}`);
    const rover = new SimulatedRover({
      preset: cmd.simulate.preset,
      seed: cmd.simulate.seed,
      frameIntervalMs: cmd.simulate.frameIntervalMs,
    });
    return rover;
  }
  const { openRealDevices } = await import('./realRover.js');
  return openRealDevices(cmd.real, log);
}

/** `--check`: each device once, as the install's check script asks for; exit 1 when one of them failed. */
async function checkDevices(cmd: AgentCommand, log: Logger): Promise<number> {
  const failures: string[] = [];
  const check = async (name: string, probe: () => Promise<string>) => {
    try {
      console.log(`${name}: ${await probe()}`);
    } catch (err) {
      failures.push(name);
      console.log(`${name}: FAILED: ${(err as Error).message}`);
    }
  };
  const simulated = cmd.simulate ? await openDevices(cmd, log) : undefined;
  const real = simulated ? undefined : await import('./realRover.js');
  await check('drive', async () => {
    const drive = simulated?.drive ?? (await real!.realDevice.drive(cmd.real, log));
    drive.stopNow();
    await drive.close();
    return 'stopped';
  });
  await check('laser', async () => {
    const laser = simulated?.laser ?? (await real!.realDevice.laser(cmd.real));
    try {
      await laser.init();
      return JSON.stringify(await laser.read());
    } finally {
      await laser.close();
    }
  });
  await check('camera', async () => {
    const camera = simulated?.camera ?? real!.realDevice.camera(cmd.real, log);
    try {
      await camera.start();
      const frame = await camera.nextFrame(10_000);
      return `a ${frame.jpeg.length} byte JPEG`;
    } finally {
      await camera.stop();
    }
  });
  return failures.length ? 1 : 0;
}

export async function runAgent(cmd: AgentCommand, log: Logger = pino({ name: 'rover-agent' })): Promise<number> {
  if (cmd.check) return checkDevices(cmd, log);
  const devices = await openDevices(cmd, log);
  let credentials;
  try {
    credentials = await readCredentials(cmd.credentials);
  } catch (err) {
    devices.drive.stopNow();
    if (err instanceof CredentialsError) throw new OperatorError(err.message);
    throw err;
  }
  const client = new RoverClient({ apiUrl: cmd.apiUrl, ...credentials, timeoutMs: cmd.timeoutMs, retries: 0, retryAfterBudgetMs: 2000 });
  const outbox = await Outbox.open({
    dir: cmd.outboxDir,
    maxBytes: cmd.outboxMaxBytes,
    send: forwardThrough(client),
    log: (event, fields) => log.warn(fields, event),
  });
  const agent = new RoverAgent({
    clientId: credentials.clientId,
    ...devices,
    client,
    outbox,
    mode: cmd.mode,
    freshMs: cmd.freshMs,
    maxFrames: cmd.maxFrames,
    healthFile: cmd.healthFile,
    log,
  });
  const abort = (signal: NodeJS.Signals) => {
    log.warn({ signal }, 'stopping');
    agent.abort();
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const runs = await agent.drive(cmd.runs);
    const parked = runs.filter((run) => run.report.outcome === 'parked').length;
    log.info({ runs: runs.length, parked, outbox: outbox.stats() }, 'finished');
    return 0;
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await runAgent(parseAgentArgs(argv));
  } catch (err) {
    return reportCommandError(err, AGENT_USAGE);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) void main(process.argv.slice(2)).then((code) => process.exit(code));
