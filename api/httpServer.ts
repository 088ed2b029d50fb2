import http from 'node:http';
import type { Config } from '../core/config.js';

const DEFAULT_HEADERS_TIMEOUT_S = 10;
const DEFAULT_REQUEST_TIMEOUT_S = 30;

/**
 * The API's HTTP server with Node's deadlines sized to what it receives (a frame of at most MAX_IMAGE_BYTES, or a small
 * JSON body): a client whose headers or whole request arrive later is answered 408 and disconnected. /predict's own
 * upload deadline (shorter) answers first with the JSON error; these bound every other route and the headers.
 */
export function createHttpServer(app: http.RequestListener, settings: Pick<Config['api'], 'http'>): http.Server {
  const headersTimeout = (settings.http?.headersTimeoutSeconds ?? DEFAULT_HEADERS_TIMEOUT_S) * 1000;
  const requestTimeout = (settings.http?.requestTimeoutSeconds ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000;
  // Node looks for requests past their deadline every connectionsCheckingInterval (30 s unless told).
  const connectionsCheckingInterval = Math.min(1000, headersTimeout / 2);
  return http.createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, app);
}
