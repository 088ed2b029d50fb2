import type { Request, RequestHandler } from 'express';
import type { RegistryStore } from '../core/stores/registry.js';
import { bearerToken, hashToken, sameSecret } from './auth.js';
import { ApiError } from './errors.js';

/** The admin token may do anything; a viewer token (POST /viewers) may read everything and change nothing. */
export type Role = 'admin' | 'viewer';

/** Who a request's token is: the admin token names no one (`name` null), a viewer token its viewer. */
export interface Caller {
  role: Role;
  name: string | null;
}

/** Methods that change nothing: the only ones a viewer token may call. */
const READ_METHODS = new Set(['GET', 'HEAD']);

const viewerRefused = (why = 'a viewer token cannot change anything') =>
  new ApiError(403, 'forbidden', `${why}; this needs the admin token`);

/**
 * The guards of the admin routes. The admin token is compared first and never touches the registry; any other token
 * is looked up as a viewer's on each request, so a deleted viewer's token stops working at once.
 */
export class AdminAccess {
  constructor(
    private readonly adminToken: string,
    private readonly viewers: Pick<RegistryStore, 'findViewerByTokenHash'>,
  ) {}

  /** The caller of a request, or 401 for no token and for a token that is neither the admin's nor a viewer's. */
  async callerOf(req: Request): Promise<Caller> {
    const token = bearerToken(req);
    if (!token) throw new ApiError(401, 'missing_token', 'admin requires an Authorization: Bearer token');
    if (sameSecret(token, this.adminToken)) return { role: 'admin', name: null };
    const viewer = await this.viewers.findViewerByTokenHash(hashToken(token));
    if (viewer) return { role: 'viewer', name: viewer.name };
    throw new ApiError(401, 'invalid_token', 'wrong admin token (neither the admin token nor a viewer token)');
  }

  /** The guard of every admin route: the admin token, or a viewer token on a GET (403 on any other method). */
  readonly adminOrReader: RequestHandler = async (req, _res, next) => {
    const caller = await this.callerOf(req);
    if (caller.role === 'viewer' && !READ_METHODS.has(req.method)) throw viewerRefused();
    next();
  };

  /** The guard of the routes a viewer may not even read (the viewers themselves): the admin token only. */
  readonly adminOnly: RequestHandler = async (req, _res, next) => {
    if ((await this.callerOf(req)).role !== 'admin') throw viewerRefused('a viewer token cannot see or change the viewers');
    next();
  };
}
