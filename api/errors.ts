import type { ErrorRequestHandler, RequestHandler } from 'express';
import multer from 'multer';
import { z } from 'zod';
import { ControlError, type ControlErrorKind } from '../control/errors.js';
import { StoreError } from '../core/stores/registry.js';
import { SpoolFullError } from '../ingest/frameSpool.js';
import { RegistryUnavailableError } from '../serving/registryLookups.js';
import { ObjectNotFoundError } from '../core/stores/objects.js';

/** An error the API answers with: JSON `{error: {code, message}}` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Sent as `Retry-After` (seconds): the condition is expected to pass. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/**
 * Any error of the multipart parser (multer and busboy below it) as a 4xx: the body is the
 * client's, whatever the parser found wrong with it.
 */
export function multipartError(err: unknown): ApiError {
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new ApiError(413, 'payload_too_large', `image larger than the limit: ${err.message}`);
    return new ApiError(400, 'invalid_multipart', `${err.message} (field ${err.field ?? '-'})`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(400, 'invalid_multipart', `malformed multipart body: ${message}`);
}

export { notFound, unknownDeployments } from '../control/errors.js';

const STATUS_OF: Record<ControlErrorKind, number> = { not_found: 404, conflict: 409, unprocessable: 422, unavailable: 503 };

/** The control layer's refusal as the API answers it. */
export const fromControlError = (err: ControlError) => new ApiError(STATUS_OF[err.kind], err.code, err.message, err.retryAfterSeconds);

/** Parses a value with a zod schema or answers 400 with every problem listed. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, what = 'request body'): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ApiError(400, 'invalid_request', `invalid ${what}: ${problems}`);
  }
  return parsed.data;
}

export const unknownRoute: RequestHandler = (req, _res, next) => next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`));

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControlError) return fromControlError(err);
  if (err instanceof multer.MulterError) return multipartError(err);
  if (err instanceof RegistryUnavailableError) return new ApiError(503, 'registry_unavailable', err.message, 5);
  if (err instanceof SpoolFullError)
    return new ApiError(503, 'spool_full', 'the API holds as many unstored frames as it may; send again later', 5);
  if (err instanceof StoreError)
    return new ApiError(err.code === 'conflict' ? 409 : err.code === 'not_found' ? 404 : 503, err.code, err.message);
  if (err instanceof ObjectNotFoundError) return new ApiError(404, 'not_found', err.message);
  const e = err as { type?: string; status?: number; message?: string; code?: string };
  if (e?.type === 'entity.too.large') return new ApiError(413, 'payload_too_large', 'request body larger than the limit');
  if (e?.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', `malformed JSON body: ${e.message}`);
  if (e?.message?.startsWith('Multipart: Boundary not found') || e?.message === 'Unexpected end of form')
    return new ApiError(400, 'invalid_multipart', `malformed multipart body: ${e.message}`);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
    return new ApiError(e.status, 'bad_request', e.message ?? 'bad request');
  // The cause (addresses, stack) goes to the log only.
  return new ApiError(500, 'internal', 'internal error; the API log has the details');
}

/**
 * Expected conditions (every ApiError) are logged at info without a stack; anything else at error with one. Each line
 * carries the request id (the access log's); the code is left in `res.locals.errorCode` for the metrics.
 */
export function errorHandler(log: {
  info?(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err);
    const reqId = (req as { id?: unknown }).id;
    res.locals.errorCode = apiError.code;
    if (apiError.status >= 500 && apiError.code === 'internal') log.error({ err, reqId, path: req.path }, 'request failed');
    else log.info?.({ reqId, status: apiError.status, code: apiError.code, path: req.path, reason: apiError.message }, 'request refused');
    if (res.headersSent) return;
    if (apiError.retryAfterSeconds !== undefined) res.set('Retry-After', String(apiError.retryAfterSeconds));
    res.status(apiError.status).json({ error: { code: apiError.code, message: apiError.message } });
  };
}
