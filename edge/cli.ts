/**
 * Rover CLI: drives parking runs against the inference API, or renders one camera frame (see USAGE).
 * Exit code 2 on bad arguments, 1 when the API cannot be reached, refuses the token, or accepted none of the frames.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { renderFrame } from './camera.js';
import { parseLaserFault, type LaserFault } from './laserFaults.js';
import { runParking, type ParkingRunSummary } from './parkingRun.js';
import { getPreset, isPresetId, PRESET_IDS } from './presets.js';
import { createRng } from '../core/random.js';
import { RoverClient, type PredictInput, type PredictResult } from './roverClient.js';
import { OperatorError, parseCommandLine, reportCommandError, UsageError } from '../core/commandLine.js';

export { UsageError };

export interface DriveOptions {
  apiUrl: string;
  clientId: string;
  token: string;
  preset: string;
  runs: number;
  seed?: number;
  /** Parking runs driven at the same time (default 1). */
  concurrency?: number;
  /** Sends in flight per run (default 4). */
  maxInFlight?: number;
  realtime?: boolean;
  steerBy?: 'sensor' | 'prediction';
  timeoutMs?: number;
  retries?: number;
  /** A laser fault on every run (edge/laserFaults.ts): demos and tests of the sensor health check. */
  laserFault?: LaserFault;
  /** Receives one line per finished run (default console.log). */
  log?: (line: string) => void;
  /** Replaces the HTTP client (tests, in-process demos). */
  client?: { predict(input: PredictInput): Promise<PredictResult> };
  /**
   * One client per rover: as many runs at once as rovers (`concurrency` is then not used), each rover driving one run
   * at a time, so a rover's frames are one run after another as a real rover's are.
   */
  rovers?: { predict(input: PredictInput): Promise<PredictResult> }[];
}

export interface DriveSummary {
  preset: string;
  runs: number;
  frames: number;
  sent: number;
  answered: number;
  skipped: number;
  errors: Record<string, number>;
  meanErrorMm: number | null;
  maxErrorMm: number | null;
  collisions: number;
  runSummaries: ParkingRunSummary[];
}

const fmt = (mm: number | null) => (mm === null ? '-' : `${mm.toFixed(1)}mm`);

/** Drives N parking runs against the inference API, at most `concurrency` at a time. */
export async function driveParkingRuns(options: DriveOptions): Promise<DriveSummary> {
  const preset = getPreset(options.preset);
  const log = options.log ?? ((line: string) => console.log(line));
  const client =
    options.client ??
    new RoverClient({
      apiUrl: options.apiUrl,
      clientId: options.clientId,
      token: options.token,
      timeoutMs: options.timeoutMs,
      retries: options.retries,
    });
  const seed = options.seed ?? 1;
  const summaries: ParkingRunSummary[] = new Array(options.runs);
  let next = 0;

  const worker = async (rover: number) => {
    const roverClient = options.rovers?.[rover] ?? client;
    while (next < options.runs) {
      const i = next++;
      const run = await runParking({
        preset,
        seed: seed * 100_003 + i,
        realtime: options.realtime,
        steerBy: options.steerBy,
        maxInFlight: options.maxInFlight,
        laserFault: options.laserFault,
        send: (frame) => roverClient.predict({ jpeg: frame.jpeg, sensorMm: frame.sensorMm }),
      });
      summaries[i] = run;
      log(
        `run ${i + 1}/${options.runs} ${preset.id} start=${run.startMm.toFixed(0)}mm angle=${run.angleDeg.toFixed(1)}deg ` +
          `frames=${run.frames} answered=${run.answered} skipped=${run.skipped} errors=${JSON.stringify(run.errors)} ` +
          `mean=${fmt(run.meanAbsErrorMm)} max=${fmt(run.maxAbsErrorMm)} final=${run.finalTrueMm.toFixed(0)}mm${run.collided ? ' COLLIDED' : ''}`,
      );
    }
  };
  const concurrency = options.rovers ? options.rovers.length : (options.concurrency ?? 1);
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, options.runs)) }, (_, rover) => worker(rover)));

  const errors: Record<string, number> = {};
  for (const run of summaries) for (const [code, n] of Object.entries(run.errors)) errors[code] = (errors[code] ?? 0) + n;
  const absErrors = summaries.flatMap((run) => run.results.flatMap((r) => (r.absErrorMm === undefined ? [] : [r.absErrorMm])));
  const sum = (key: 'frames' | 'sent' | 'answered' | 'skipped') => summaries.reduce((acc, run) => acc + run[key], 0);
  return {
    preset: preset.id,
    runs: options.runs,
    frames: sum('frames'),
    sent: sum('sent'),
    answered: sum('answered'),
    skipped: sum('skipped'),
    errors,
    meanErrorMm: absErrors.length ? absErrors.reduce((a, b) => a + b, 0) / absErrors.length : null,
    maxErrorMm: absErrors.length ? Math.max(...absErrors) : null,
    collisions: summaries.filter((run) => run.collided).length,
    runSummaries: summaries,
  };
}

export const USAGE = `usage: npm run rover -- drive --api URL --client-id ID --preset ID --runs N [options]
       npm run rover -- render --preset ID --distance MM [--angle DEG] [--seed 1] --out FILE.jpg
       npm run rover -- agent --credentials FILE --api URL [options]   (the rover agent: agent --help)

drive: parking runs against the inference API (POST /predict), one line per run, then a JSON summary.
  The rover's token comes from ROVER_TOKEN, or from a file (--token-file); --token TOKEN works too but
  shows the token in the process list and in npm's echo of the command line.
  Before the first run it checks that the API answers and accepts the token.
  --api URL                    the API, e.g. http://127.0.0.1:3000
  --client-id ID               the rover's client id (POST /clients answers its token once)
  --token-file FILE            read the token from FILE (instead of ROVER_TOKEN)
  --preset ID                  the world to drive in: ${PRESET_IDS.join(', ')}
  --runs N                     parking runs to drive
  --seed N                     (1) first run's seed
  --concurrency N              (1) runs driven at the same time
  --max-in-flight N            (4) frames in flight per run
  --realtime                   drive at the camera's frame rate instead of as fast as answers come
  --steer-by sensor|prediction (sensor) what the rover steers by
  --timeout-ms MS              (5000) per attempt
  --retries N                  (2) extra attempts on network errors and retryable 5xx
  --laser-fault FAULT          a faulty laser on every run: stuck, offset:MM, scale:F, dropouts:RATE,
                               spikes:RATE[:MM], error-codes:RATE[:CODE], out-of-range:RATE (edge/laserFaults.ts)
render: writes one frame of a preset's scene as a JPEG.
  -h, --help                   this text

examples:
  ROVER_TOKEN=$(cat rover-1.token) npm run rover -- drive --api http://127.0.0.1:3000 --client-id rover-1 --preset beige-250 --runs 20
  npm run rover -- drive --api http://127.0.0.1:3000 --client-id rover-1 --token-file rover-1.token --preset green-350 --runs 5 --concurrency 2
  npm run rover -- render --preset green-350 --distance 120 --angle 10 --out /tmp/frame.jpg`;

function number(
  name: string,
  value: string | undefined,
  fallback: number | undefined,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (
    value.trim() === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) ||
    (opts.max !== undefined && n > opts.max)
  ) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(`--${name} must be ${opts.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got "${value}"`);
  }
  return n;
}

function required(name: string, value: string | undefined): string {
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

/** The token from --token, --token-file or ROVER_TOKEN (in that order). */
function roverToken(flag: string | undefined, file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (file) {
    let token;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read --token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!token) throw new UsageError(`--token-file ${file} is empty`);
    return token;
  }
  if (env.ROVER_TOKEN) return env.ROVER_TOKEN;
  throw new UsageError('the rover token is required: set ROVER_TOKEN, or give --token-file FILE');
}

function laserFaultArg(value: string): LaserFault {
  try {
    return parseLaserFault(value);
  } catch (err) {
    throw new UsageError(`--laser-fault: ${(err as Error).message}`);
  }
}

function presetArg(value: string | undefined): string {
  const id = required('preset', value);
  if (!isPresetId(id)) throw new UsageError(`unknown preset "${id}"; valid presets: ${PRESET_IDS.join(', ')}`);
  return id;
}

export type CliCommand =
  | { command: 'drive'; options: Omit<DriveOptions, 'log' | 'client'> }
  | { command: 'render'; preset: string; distanceMm: number; angleDeg: number; seed: number; out: string };

/** Parses the command line (without node and script); throws UsageError on bad arguments. */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): CliCommand {
  const parsed = parseCommandLine(
    argv,
    {
      api: { type: 'string' },
      'client-id': { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      preset: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      concurrency: { type: 'string' },
      'max-in-flight': { type: 'string' },
      realtime: { type: 'boolean' },
      'steer-by': { type: 'string' },
      'timeout-ms': { type: 'string' },
      retries: { type: 'string' },
      distance: { type: 'string' },
      angle: { type: 'string' },
      out: { type: 'string' },
      'laser-fault': { type: 'string' },
    },
    { positionals: true },
  );
  const { values: v, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (command === 'drive') {
    const steerBy = v['steer-by'] ?? 'sensor';
    if (steerBy !== 'sensor' && steerBy !== 'prediction') throw new UsageError(`--steer-by must be sensor or prediction, got "${steerBy}"`);
    const apiUrl = required('api', v.api);
    if (!URL.canParse(apiUrl)) throw new UsageError(`--api must be a URL, got "${apiUrl}"`);
    return {
      command,
      options: {
        apiUrl,
        clientId: required('client-id', v['client-id']),
        token: roverToken(v.token, v['token-file'], env),
        preset: presetArg(v.preset),
        runs: number('runs', v.runs, undefined, { min: 1, integer: true }),
        seed: number('seed', v.seed, 1, { integer: true }),
        concurrency: number('concurrency', v.concurrency, 1, { min: 1, max: 64, integer: true }),
        maxInFlight: number('max-in-flight', v['max-in-flight'], 4, { min: 1, max: 64, integer: true }),
        realtime: v.realtime ?? false,
        steerBy,
        timeoutMs: number('timeout-ms', v['timeout-ms'], 5000, { min: 1 }),
        retries: number('retries', v.retries, 2, { min: 0, max: 10, integer: true }),
        ...(v['laser-fault'] !== undefined ? { laserFault: laserFaultArg(v['laser-fault']) } : {}),
      },
    };
  }
  if (command === 'render') {
    return {
      command,
      preset: presetArg(v.preset),
      distanceMm: number('distance', v.distance, undefined, { min: 0, max: 2000 }),
      angleDeg: number('angle', v.angle, 0, { min: -60, max: 60 }),
      seed: number('seed', v.seed, 1, { integer: true }),
      out: required('out', v.out),
    };
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'missing command');
}

export async function main(argv: string[]): Promise<number> {
  // The agent has its own entry (edge/agent/main.ts, bundled alone for the Pi); this CLI only hands over to it.
  if (argv[0] === 'agent') return (await import('./agent/main.js')).main(argv.slice(1));
  try {
    return await run(parseCli(argv));
  } catch (err) {
    return reportCommandError(err, USAGE);
  }
}

/** Fails fast when the API is not there or refuses the token, before any run is driven. */
async function probeApi(options: CliCommand & { command: 'drive' }): Promise<void> {
  const { apiUrl, clientId, token, timeoutMs } = options.options;
  const probe = await new RoverClient({ apiUrl, clientId, token, timeoutMs }).probe();
  if (probe.ok) return;
  if (probe.status === null)
    throw new OperatorError(`cannot reach the API at ${apiUrl} (${probe.message}): start it with \`npm start\`, or fix --api`);
  if (probe.status === 401 || probe.status === 403)
    throw new OperatorError(
      `the API at ${apiUrl} refused ${clientId}'s token (${probe.status} ${probe.code}: ${probe.message}): ` +
        'set ROVER_TOKEN (or --token-file) to the token POST /clients answered for this client id',
    );
  throw new OperatorError(`the API at ${apiUrl} answered ${probe.status} ${probe.code}: ${probe.message}`);
}

async function run(cmd: CliCommand): Promise<number> {
  if (cmd.command === 'render') {
    const jpeg = await renderFrame(
      getPreset(cmd.preset).scene,
      { distanceMm: cmd.distanceMm, angleDeg: cmd.angleDeg },
      createRng(cmd.seed),
    );
    await writeFile(cmd.out, jpeg);
    console.log(`wrote ${cmd.out} (${jpeg.length} bytes)`);
    return 0;
  }
  await probeApi(cmd);
  const { runSummaries: _runs, ...summary } = await driveParkingRuns(cmd.options);
  console.log(JSON.stringify(summary));
  // A `503 no_model` answer still records the frame: the API accepted it.
  const accepted = summary.answered + (summary.errors.no_model ?? 0);
  if (accepted === 0) {
    console.error(`error: no frame was accepted: ${summary.sent} sent, answers ${JSON.stringify(summary.errors)}`);
    return 1;
  }
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) void main(process.argv.slice(2)).then((code) => process.exit(code));
