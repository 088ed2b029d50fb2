/** What a refusal means, whoever asked: the API answers each kind with its HTTP status, an activity decides by it. */
export type ControlErrorKind =
  /** The thing asked about does not exist. */
  | 'not_found'
  /** It exists, but its state does not allow the action (no training config, no rollout running). */
  | 'conflict'
  /** The ask is well-formed but names things that cannot be used (deployments that do not exist). */
  | 'unprocessable'
  /** A service the action needs cannot be reached now; the condition is expected to pass. */
  | 'unavailable';

/** A refusal or failure of the control layer, with a stable code for clients and no transport in it. */
export class ControlError extends Error {
  constructor(
    readonly kind: ControlErrorKind,
    readonly code: string,
    message: string,
    /** Seconds after which trying again makes sense (`unavailable`, or a `conflict` that passes by itself). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export const notFound = (what: string) => new ControlError('not_found', 'not_found', `${what} does not exist`);

/** A training config naming deployments that do not exist: well-formed, but it cannot train on them. */
export const unknownDeployments = (missing: string[]) =>
  new ControlError('unprocessable', 'unknown_deployment', `deployments ${missing.join(', ')} do not exist (POST /deployments first)`);

/** How long a caller should wait before trying Temporal again. */
export const TEMPORAL_RETRY_AFTER_SECONDS = 5;

export const temporalUnavailable = (message = 'Temporal cannot be reached right now') =>
  new ControlError('unavailable', 'temporal_unavailable', message, TEMPORAL_RETRY_AFTER_SECONDS);

export const isTemporalUnavailable = (err: unknown): err is ControlError =>
  err instanceof ControlError && err.code === 'temporal_unavailable';
