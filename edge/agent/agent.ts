/**
 * The rover agent: asks the API which deployment it belongs to, then drives parking runs. Each tick takes a camera
 * frame, reads the laser, sends both to the API without waiting for the answer (at most `maxInFlight` at once; a
 * frame beyond that, or one the API did not take, goes to the outbox), decides by the safety rules (steering.ts) and
 * commands the drive. Each run ends with a ParkingRunReport posted to the API (or kept in the outbox). The drive is
 * stopped on every way out of a run, and of the agent.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ParkingRunReport } from '../../contracts/http/parking.js';
import { parkingOutcome, type SteeringMode } from '../../core/parking/parkingOutcome.js';
import { CameraTimeoutError, type Camera, type CameraFrame, type Drive, type RangeReading, type RangeSensor } from '../hardware/devices.js';
import { isRetryableFailure, type PredictInput, type PredictResult, type ReportRunResult, type WhoAmIResult } from '../roverClient.js';
import { TIER_SPEED_MM_PER_S, type SpeedTier } from '../speedTiers.js';
import { HealthFile, type HealthSnapshot } from './health.js';
import type { ForwardOutcome, Outbox, OutboxItem } from './outbox.js';
import { DEFAULT_FRESH_MS, steer, type SteeringDecision } from './steering.js';

/** What the agent needs of the API (RoverClient). */
export interface AgentClient {
  predict(input: PredictInput): Promise<PredictResult>;
  whoAmI(): Promise<WhoAmIResult>;
  reportParkingRun(report: ParkingRunReport): Promise<ReportRunResult>;
}

/** A simulated rover's extras: a fresh start before each run, and the true distance for the report. */
export interface SimulatedRun {
  preset: string;
  beforeRun(index: number): Promise<void>;
  trueMm(): number;
}

export interface RoverAgentOptions {
  clientId: string;
  camera: Camera;
  laser: RangeSensor;
  drive: Drive;
  client: AgentClient;
  outbox: Outbox;
  mode: SteeringMode;
  log: Logger;
  /** How old a prediction's frame may be for the rover to steer by it (default 500 ms). */
  freshMs?: number;
  /** Frames per run at most (default 400: 100 s at 4 frames/s). */
  maxFrames?: number;
  /** Frames being sent at once (default 2); more go to the outbox. */
  maxInFlight?: number;
  /** How long the rover may stand blind (no reading, no fresh prediction) before it gives the run up (default 2 s). */
  blindTimeoutMs?: number;
  /** Wait for a camera frame (default 2 s); without one the tick steers by the laser alone. */
  cameraTimeoutMs?: number;
  /** How long a finished run waits for the answers to its last frames (default 2 s). */
  answerWaitMs?: number;
  /** How long to keep asking the API who the rover is before driving without knowing (default 10 s). */
  whoAmIDeadlineMs?: number;
  /**
   * Travel per frame for dead reckoning, in seconds of driving (a simulated camera's time per frame); default: the
   * wall-clock time between frames.
   */
  secondsPerFrame?: number;
  /** The health file to keep (JSON, rewritten every second). */
  healthFile?: string;
  simulated?: SimulatedRun;
}

export interface RunResult {
  report: ParkingRunReport;
  /** Where the report went: the API took it, or it waits in the outbox, or the API refused it. */
  reported: 'api' | 'outbox' | 'refused';
}

interface LivePrediction {
  mm: number;
  frameCapturedAt: number;
  travelAtFrameMm: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The outbox's sender: a kept frame goes with its key and age, a kept report as it was. */
export function forwardThrough(client: AgentClient): (item: OutboxItem) => Promise<ForwardOutcome> {
  return async (item) => {
    const result =
      item.kind === 'frame'
        ? await client.predict({
            jpeg: item.frame.jpeg,
            sensorMm: item.frame.sensorMm,
            idempotencyKey: item.frame.key,
            frameAgeMs: Date.now() - item.frame.capturedAt,
          })
        : await client.reportParkingRun(item.report);
    if (result.ok || (item.kind === 'frame' && result.code === 'no_model')) return 'taken';
    return isRetryableFailure(result) ? 'retry' : 'refused';
  };
}

export class RoverAgent {
  private readonly freshMs: number;
  private readonly maxFrames: number;
  private readonly maxInFlight: number;
  private readonly blindTimeoutMs: number;
  private readonly cameraTimeoutMs: number;
  private readonly answerWaitMs: number;
  private readonly aborting = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly health?: HealthFile;
  private state: HealthSnapshot['state'] = 'starting';
  private deployment: string | null = null;
  private run: HealthSnapshot['run'] = null;
  private runsDone = 0;
  private lastFrame: CameraFrame | null = null;
  private lastLaser: RangeReading | null = null;
  private api: HealthSnapshot['api'] = { reachable: null, lastAnswerAt: null, lastError: null };

  constructor(private readonly options: RoverAgentOptions) {
    this.freshMs = options.freshMs ?? DEFAULT_FRESH_MS;
    this.maxFrames = options.maxFrames ?? 400;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 2);
    this.blindTimeoutMs = options.blindTimeoutMs ?? 2000;
    this.cameraTimeoutMs = options.cameraTimeoutMs ?? 2000;
    this.answerWaitMs = options.answerWaitMs ?? 2000;
    if (options.healthFile) this.health = new HealthFile(options.healthFile, () => this.healthSnapshot());
  }

  /** Ends the run in progress at its next frame (stopped, reported as `aborted`) and drives no more. */
  abort(): void {
    this.aborting.abort();
    this.options.drive.stopNow();
  }

  /** Drives `runs` parking runs (fewer when aborted); the devices are started before and closed after. */
  async drive(runs: number): Promise<RunResult[]> {
    const { camera, laser, drive, outbox, log } = this.options;
    const results: RunResult[] = [];
    this.health?.start();
    try {
      drive.stopNow();
      await this.whoAmI();
      try {
        await laser.init();
      } catch (err) {
        // Driving is still safe: without readings the rover steers by predictions or stands still.
        log.error({ err: String(err) }, 'laser did not initialise');
      }
      await camera.start();
      outbox.start();
      for (let index = 0; index < runs && !this.aborting.signal.aborted; index++) {
        this.setState('between-runs');
        await this.options.simulated?.beforeRun(index);
        results.push(await this.parkingRun(index));
        this.runsDone++;
      }
      this.setState('finished');
      return results;
    } catch (err) {
      this.setState('failed');
      throw err;
    } finally {
      drive.stopNow();
      await this.settleInFlight();
      await Promise.allSettled([camera.stop(), laser.close(), drive.close(), outbox.stop()]);
      await this.health?.stop();
    }
  }

  private async whoAmI(): Promise<void> {
    const { client, log } = this.options;
    const deadline = Date.now() + (this.options.whoAmIDeadlineMs ?? 10_000);
    for (;;) {
      const answer = await client.whoAmI();
      if (answer.ok) {
        this.deployment = answer.answer.deployment?.id ?? null;
        this.setApi(true);
        log.info({ client: answer.answer.client.id, deployment: answer.answer.deployment }, 'the API knows this rover');
        return;
      }
      if (!isRetryableFailure(answer) || Date.now() >= deadline || this.aborting.signal.aborted) {
        // Still safe to drive: without answers the rover steers by the laser. A refused token is said loudly.
        const refused = answer.status === 401 || answer.status === 403;
        log[refused ? 'error' : 'warn'](
          { status: answer.status, code: answer.code, message: answer.message },
          refused ? 'the API refused this rover’s token: check the credentials file' : 'driving without knowing the deployment',
        );
        this.setApi(answer.status !== null, `${answer.code}: ${answer.message}`);
        return;
      }
      await sleep(1000);
    }
  }

  private async parkingRun(index: number): Promise<RunResult> {
    const { camera, laser, drive, mode, log, simulated } = this.options;
    const runId = randomUUID();
    const startedAt = new Date();
    const steered = { model: 0, laser: 0, stopped: 0 };
    const versions = new Map<number, number>();
    let frames = 0;
    let tier: SpeedTier = 'stop';
    let travelMm = 0;
    let lastTickAt: number | null = null;
    /** The newest answer by frame time (answers arrive out of order). */
    const latest: { prediction: LivePrediction | null } = { prediction: null };
    let blindSince: number | null = null;
    let lastBy: SteeringDecision['by'] | null = null;
    let stopReason: ParkingRunReport['stopReason'] = 'max-frames';
    this.run = { index, id: runId, frames: 0 };
    this.setState('driving');
    log.info({ run: runId, index, mode }, 'run started');

    const onAnswer = (result: PredictResult, capturedAt: number, travelAtFrameMm: number) => {
      if (!result.ok) return;
      versions.set(result.model.version, (versions.get(result.model.version) ?? 0) + 1);
      if (!latest.prediction || capturedAt > latest.prediction.frameCapturedAt)
        latest.prediction = { mm: result.predictionMm, frameCapturedAt: capturedAt, travelAtFrameMm };
    };

    try {
      while (frames < this.maxFrames) {
        if (this.aborting.signal.aborted) {
          stopReason = 'aborted';
          break;
        }
        const frame = await this.nextFrame(camera);
        const now = Date.now();
        const tickAt = frame?.capturedAt ?? now;
        if (lastTickAt !== null) travelMm += TIER_SPEED_MM_PER_S[tier] * (this.options.secondsPerFrame ?? (tickAt - lastTickAt) / 1000);
        lastTickAt = tickAt;
        const reading = await laser.read();
        this.lastLaser = reading;
        if (frame) {
          frames++;
          this.run.frames = frames;
          this.lastFrame = frame;
          const travelAtFrameMm = travelMm;
          this.send(`${runId}:${frame.seq}`, frame, reading, (result) => onAnswer(result, frame.capturedAt, travelAtFrameMm));
        }
        const current = latest.prediction;
        const decision = steer({
          mode,
          now: Date.now(),
          laser: reading,
          prediction: current && {
            mm: current.mm,
            frameCapturedAt: current.frameCapturedAt,
            travelSinceMm: travelMm - current.travelAtFrameMm,
          },
          freshMs: this.freshMs,
        });
        tier = decision.tier;
        if (tier === 'stop') drive.stopNow();
        else await drive.set(tier);
        if (frame) steered[decision.by]++;
        if (decision.by !== lastBy) {
          log.info({ run: runId, frame: frames, by: decision.by, tier, distanceMm: decision.distanceMm, laser: reading }, 'steering');
          lastBy = decision.by;
        }
        if (decision.stop === 'laser' || decision.stop === 'model') {
          stopReason = decision.stop;
          break;
        }
        if (decision.stop === 'blind') {
          blindSince ??= now;
          if (now - blindSince >= this.blindTimeoutMs) {
            stopReason = 'blind';
            break;
          }
        } else blindSince = null;
      }
    } finally {
      drive.stopNow();
      this.setState('stopped');
    }

    // Answers still on their way (for a moment) count for the run's model version; then the rover ranges the wall again.
    await this.settleInFlight();
    const final = await laser.read();
    this.lastLaser = final;
    const finalLaserMm = final.ok ? final.mm : null;
    const finalTrueMm = simulated ? simulated.trueMm() : null;
    const finalMm = finalTrueMm ?? finalLaserMm;
    const modelVersion = [...versions.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
    const report: ParkingRunReport = {
      runId,
      mode,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      frames,
      steered,
      outcome: finalMm === null ? 'early' : parkingOutcome(finalMm),
      finalLaserMm,
      modelVersion,
      stopReason,
      ...(simulated ? { finalTrueMm, simulated: true, preset: simulated.preset } : {}),
    };
    const reported = await this.report(report);
    log.info({ ...report, reported }, 'run ended');
    return { report, reported };
  }

  private async nextFrame(camera: Camera): Promise<CameraFrame | null> {
    try {
      return await camera.nextFrame(this.cameraTimeoutMs);
    } catch (err) {
      if (!(err instanceof CameraTimeoutError)) throw err;
      this.options.log.warn({ timeoutMs: this.cameraTimeoutMs }, 'no camera frame: steering without one');
      return null;
    }
  }

  /** Sends a frame without waiting; a frame beyond the in-flight bound, or one the API did not take, is kept. */
  private send(key: string, frame: CameraFrame, reading: RangeReading, onAnswer: (result: PredictResult) => void): void {
    const { client, outbox, log } = this.options;
    const sensorMm = reading.ok ? reading.mm : (reading.raw ?? null);
    const keep = () =>
      outbox
        .addFrame({ key, jpeg: frame.jpeg, capturedAt: frame.capturedAt, sensorMm })
        .catch((err: unknown) => log.error({ err: String(err), key }, 'frame could not be kept in the outbox'));
    if (this.inFlight.size >= this.maxInFlight) {
      this.track(keep());
      return;
    }
    const task = client
      .predict({ jpeg: frame.jpeg, sensorMm, idempotencyKey: key, frameAgeMs: Date.now() - frame.capturedAt })
      .then(async (result) => {
        onAnswer(result);
        if (result.ok || result.code === 'no_model') {
          this.setApi(true);
          outbox.wake();
        } else if (isRetryableFailure(result)) {
          this.setApi(false, `${result.code}: ${result.message}`);
          await keep();
        } else log.warn({ key, status: result.status, code: result.code, message: result.message }, 'frame refused by the API');
      });
    this.track(task);
  }

  /** Waits for the frames in flight, at most `answerWaitMs`: a hanging API must not hold the rover. */
  private async settleInFlight(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.answerWaitMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), deadline]);
    clearTimeout(timer);
  }

  private track(task: Promise<unknown>): void {
    const tracked = task.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private async report(report: ParkingRunReport): Promise<RunResult['reported']> {
    const { client, outbox, log } = this.options;
    const result = await client.reportParkingRun(report);
    if (result.ok) return 'api';
    if (isRetryableFailure(result)) {
      await outbox.addRun(report);
      return 'outbox';
    }
    log.error({ run: report.runId, status: result.status, code: result.code, message: result.message }, 'run report refused by the API');
    return 'refused';
  }

  private setState(state: HealthSnapshot['state']): void {
    if (state === this.state) return;
    this.state = state;
    void this.health?.write();
  }

  private setApi(reachable: boolean, error?: string): void {
    if (reachable !== this.api.reachable)
      this.options.log.info({ reachable, error }, reachable ? 'API reachable' : 'API unreachable: steering by the laser, frames kept');
    this.api = {
      reachable,
      lastAnswerAt: reachable ? new Date().toISOString() : this.api.lastAnswerAt,
      lastError: error ?? this.api.lastError,
    };
  }

  private healthSnapshot(): Omit<HealthSnapshot, 'updatedAt' | 'pid'> {
    const laser = this.lastLaser;
    return {
      state: this.state,
      clientId: this.options.clientId,
      deployment: this.deployment,
      mode: this.options.mode,
      run: this.run,
      runsDone: this.runsDone,
      lastFrame: this.lastFrame && { seq: this.lastFrame.seq, capturedAt: new Date(this.lastFrame.capturedAt).toISOString() },
      api: this.api,
      outbox: this.options.outbox.stats(),
      laser:
        laser === null
          ? null
          : laser.ok
            ? { mm: laser.mm }
            : { reason: laser.reason, ...(laser.raw !== undefined ? { raw: laser.raw } : {}) },
      cameraRestarts: (this.options.camera as { restarts?: number }).restarts ?? 0,
    };
  }
}
