import { createHash, randomUUID } from 'node:crypto';
import type { RegistryStore } from '../core/stores/registry.js';
import { ControlError } from './errors.js';

/**
 * Frames sent with an Idempotency-Key (IETF draft-ietf-httpapi-idempotency-key-header): the first handling of a
 * client's key claims it in the registry and, once the frame is stored, leaves its answer there; a repeat gets that
 * answer again and stores nothing. No transport here: POST /predict calls these.
 */

/** What a key's claim lets this handling of the frame do. */
export type FrameClaim =
  | { kind: 'replay'; answer: { status: number; body: unknown } }
  /** Handle the frame under this request id and record time (a take-over keeps the first handling's). */
  | { kind: 'handle'; client: string; key: string; holder: string; requestId: string; frameTime: number; takenOver: boolean };

export interface IdempotentFramesSettings {
  /** A pending claim older than this is from a handling that died (the API stopped mid-frame): it may be taken over. */
  pendingDeadlineMs: number;
  /** Claims older than this are forgotten: a key may be used again. */
  ttlMs: number;
}

/** What a frame is, for telling a repeat from another frame under the same key: its image and its laser reading. */
export function frameFingerprint(image: Buffer, sensorValue: number | null): string {
  return createHash('sha256')
    .update(image)
    .update(`\n${sensorValue ?? ''}`)
    .digest('hex');
}

const IN_PROGRESS_RETRY_AFTER_S = 1;
const REGISTRY_RETRY_AFTER_S = 5;

export class IdempotentFrames {
  constructor(
    private readonly registry: Pick<
      RegistryStore,
      'claimIdempotencyKey' | 'settleIdempotencyKey' | 'releaseIdempotencyKey' | 'pruneIdempotencyKeys'
    >,
    private readonly settings: IdempotentFramesSettings,
    private readonly log: { warn(obj: unknown, msg?: string): void },
  ) {}

  /**
   * Claims `key` of `client` for a frame that would be stored as `requestId` at `frameTime`. ControlError
   * `idempotency_in_progress` (conflict) while another handling of it is under way, `idempotency_key_reused`
   * (unprocessable) for another frame under the key, `registry_unavailable` when the registry cannot be reached.
   */
  async claim(frame: { client: string; key: string; fingerprint: string; requestId: string; frameTime: number }): Promise<FrameClaim> {
    const now = Date.now();
    const holder = randomUUID();
    const { claim, outcome } = await this.registry
      .claimIdempotencyKey(
        { ...frame, holder },
        { staleBefore: now - this.settings.pendingDeadlineMs, expiredBefore: new Date(now - this.settings.ttlMs).toISOString() },
      )
      .catch((err: unknown) => {
        throw new ControlError(
          'unavailable',
          'registry_unavailable',
          `the frame's Idempotency-Key cannot be checked right now (${(err as Error).message}); send it again shortly`,
          REGISTRY_RETRY_AFTER_S,
        );
      });
    if (outcome !== 'held')
      return {
        kind: 'handle',
        client: frame.client,
        key: frame.key,
        holder,
        requestId: claim.requestId,
        frameTime: claim.frameTime,
        takenOver: outcome === 'taken-over',
      };
    if (claim.fingerprint !== frame.fingerprint)
      throw new ControlError(
        'unprocessable',
        'idempotency_key_reused',
        `Idempotency-Key "${frame.key}" was used for another frame (image or laser reading differ); give each frame its own key`,
      );
    if (claim.state === 'done' && claim.answer) return { kind: 'replay', answer: claim.answer };
    throw new ControlError(
      'conflict',
      'idempotency_in_progress',
      `the frame with Idempotency-Key "${frame.key}" is being handled; send it again shortly for its answer`,
      IN_PROGRESS_RETRY_AFTER_S,
    );
  }

  /** Keeps the answer for repeats. A failure is logged: the claim stays pending and a repeat takes it over later. */
  async settle(claim: Extract<FrameClaim, { kind: 'handle' }>, answer: { status: number; body: unknown }): Promise<void> {
    try {
      await this.registry.settleIdempotencyKey(claim.client, claim.key, claim.holder, answer);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, client: claim.client, requestId: claim.requestId }, 'idempotency key not settled');
    }
  }

  /** The frame was not stored: the key is free for its next attempt. A failure is logged (the claim goes stale). */
  async release(claim: Extract<FrameClaim, { kind: 'handle' }>): Promise<void> {
    try {
      await this.registry.releaseIdempotencyKey(claim.client, claim.key, claim.holder);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, client: claim.client, requestId: claim.requestId }, 'idempotency key not released');
    }
  }

  /** Forgets expired claims every `intervalMs` until stopped. */
  keepPruning(intervalMs: number): { stop(): void } {
    const timer = setInterval(() => {
      this.registry
        .pruneIdempotencyKeys(new Date(Date.now() - this.settings.ttlMs).toISOString())
        .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'expired idempotency keys not pruned'));
    }, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
