import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming request id is kept when it is a plain token of reasonable length; anything else gets a new one. */
const ACCEPTED_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Probes and scrapes: logged at debug, so that they do not bury the requests that matter at info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const pathOf = (url: string | undefined) => (url ?? '').split('?')[0];

/**
 * The access log: one JSON line per answered request with its request id (the caller's `X-Request-Id` when it sends a
 * usable one, else a new UUID, echoed in the response header either way), method, URL, status and time taken. Headers
 * are not logged (they carry tokens). `req.log` is the same logger with the request id bound, for the lines a route writes.
 */
export function accessLog(log: Logger): HttpLogger {
  return pinoHttp({
    logger: log,
    quietReqLogger: true,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    customLogLevel: (req) => (QUIET_PATHS.has(pathOf(req.url)) ? 'debug' : 'info'),
    serializers: {
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req.url)} ${res.statusCode}`,
    // The error handler logged the cause already (with its stack only when unexpected): the access line stays one line.
    customErrorObject: (_req, _res, _err, { err: _omitted, ...line }: Record<string, unknown>) => line,
  });
}
