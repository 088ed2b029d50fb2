import http from 'node:http';
import type { Express } from 'express';
import type { Config } from '../core/config.js';

const DEFAULT_HEADERS_TIMEOUT_S = 10;
const DEFAULT_REQUEST_TIMEOUT_S = 30;

/**
 * Request and response classes whose instances are born with the app's prototypes. Express gives every request and
 * response `app.request` and `app.response` as prototypes with `Object.setPrototypeOf`, and an object whose prototype
 * changes after it was made costs V8's young generation dearly: its allocations outlive two scavenges and die in the old
 * generation (a plain node:http server promoted 0.4 % of what it allocated, 20-25 % with that one call added).
 * Made by a constructor whose `prototype` is `app.request` itself (`Reflect.construct` with it as `new.target`) they
 * still promoted 5-8 %; made by a subclass they promote 0.3 %, so each class's prototype takes the place of the app's
 * (same parent, same own properties) and Express's call finds the prototype it sets and changes nothing
 * (bench/README, "Issue 26, ninth stop" and "tenth stop").
 */
function classesWithPrototypesOf(app: Express): Pick<http.ServerOptions, 'IncomingMessage' | 'ServerResponse'> {
  const IncomingMessage = subclassInPlaceOf(http.IncomingMessage, app.request);
  const ServerResponse = subclassInPlaceOf(http.ServerResponse, app.response);
  app.request = IncomingMessage.prototype as Express['request'];
  app.response = ServerResponse.prototype as unknown as Express['response'];
  return { IncomingMessage, ServerResponse };
}

/** A subclass of `base` whose prototype inherits from what `appPrototype` inherits from and holds its own properties. */
function subclassInPlaceOf<C extends new (...args: never[]) => object>(base: C, appPrototype: object): C {
  // A class's implicit constructor passes every argument on to `base`.
  const Subclass = class extends (base as unknown as new () => object) {};
  Object.setPrototypeOf(Subclass.prototype, Object.getPrototypeOf(appPrototype));
  for (const key of Reflect.ownKeys(appPrototype)) {
    Object.defineProperty(Subclass.prototype, key, Object.getOwnPropertyDescriptor(appPrototype, key)!);
  }
  return Subclass as unknown as C;
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
