import http from 'node:http';
import type { Express } from 'express';
import type { Config } from '../core/config.js';

const DEFAULT_HEADERS_TIMEOUT_S = 10;
const DEFAULT_REQUEST_TIMEOUT_S = 30;

/**
 * Request and response classes whose instances are born with the app's prototypes (`app.request`, `app.response`).
 * Express gives every request and response those prototypes with `Object.setPrototypeOf`, and an object whose
 * prototype changes after it was made cost V8's young generation dearly: about a fifth of the event loop's
 * allocations then outlived two scavenges and died in the old generation (0.4 % in a plain node:http server, 18-25 %
 * behind Express, 6 % with these; bench/README, "Issue 26, ninth stop"). Born with them, Express's call finds the
 * prototype it sets and changes nothing.
 */
function classesWithPrototypesOf(app: Express): Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  function AppRequest(...args: ConstructorParameters<typeof http.IncomingMessage>) {
    return Reflect.construct(http.IncomingMessage, args, AppRequest);
  }
  AppRequest.prototype = app.request;
  function AppResponse(...args: ConstructorParameters<typeof http.ServerResponse>) {
    return Reflect.construct(http.ServerResponse, args, AppResponse);
  }
  AppResponse.prototype = app.response;
  return {
    IncomingMessage: AppRequest as unknown as typeof http.IncomingMessage,
    ServerResponse: AppResponse as unknown as typeof http.ServerResponse,
  };
}

/**
 * The API's HTTP server with Node's deadlines sized to what it receives (a frame of at most MAX_IMAGE_BYTES, or a small
 * JSON body): a client whose headers or whole request arrive later is answered 408 and disconnected. /predict's own
 * upload deadline (shorter) answers first with the JSON error; these bound every other route and the headers.
 */
export function createHttpServer(app: Express, settings: Pick<Config['api'], 'http'>): http.Server {
  const headersTimeout = (settings.http?.headersTimeoutSeconds ?? DEFAULT_HEADERS_TIMEOUT_S) * 1000;
  const requestTimeout = (settings.http?.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
  // Node looks for requests past their deadline every connectionsCheckingInterval (30 s unless told).
  const connectionsCheckingInterval = Math.min(1000, headersTimeout / 2);
  return http.createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval, ...classesWithPrototypesOf(app) }, app);
}
