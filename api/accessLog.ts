import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** An incoming request id is kept when it is a plain token of reasonable length; anything else gets a new one. */
const ACCEPTED_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Probes and scrapes: logged at debug, so that they do not bury the requests that matter at info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const pathOf = (url: string | undefined) => (url ?? '').split('?')[0];

/**
 * The access log: one JSON line per answered request with its request id (the caller's `X-Request-Id` when it sends a
 * usable one, else a new UUID, echoed in the response header either way), method, URL, status and time taken. Headers
 * are not logged (they carry tokens). The id is left in `req.id` for the lines the request causes (the error handler's).
 *
 * Written here rather than with pino-http: pino-http makes two child loggers a request, serializing the request into
 * one of them whether or not a line is written, and that was 0.13-0.20 ms of the event loop's time per /predict
 * (bench/README.md, "Around the model"); this writes the same line with one call to the logger.
 */
export function accessLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const reqId = typeof given === 'string' && ACCEPTED_REQUEST_ID.test(given) ? given : randomUUID();
    (req as { id?: string }).id = reqId;
    res.setHeader(REQUEST_ID_HEADER, reqId);
    const started = Date.now();
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const url = req.originalUrl || req.url;
      const level = QUIET_PATHS.has(pathOf(url)) ? 'debug' : 'info';
      if (!log.isLevelEnabled(level)) return;
      log[level](
        {
          reqId,
          req: { method: req.method, url, remoteAddress: req.socket.remoteAddress },
          res: { statusCode: res.statusCode },
          responseTime: Date.now() - started,
        },
        `${req.method} ${pathOf(url)} ${res.statusCode}`,
      );
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
