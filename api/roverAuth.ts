import type { Request, RequestHandler } from 'express';
import type { RegisteredClient } from '../core/stores/registry.js';
import type { RegistryLookups } from '../serving/registryLookups.js';
import { bearerToken, hashToken, sameSecret } from './auth.js';
import { ApiError } from './errors.js';

/** The rover a request comes from, by its token (and the `x-client-id` header old rovers send): 401 otherwise. */
export async function authenticateRover(
  req: Request,
  lookups: Pick<RegistryLookups, 'client' | 'clientByTokenHash'>,
): Promise<RegisteredClient> {
  const token = bearerToken(req);
  if (!token) throw new ApiError(401, 'missing_token', 'send the client token as Authorization: Bearer <token>');
  const tokenHash = hashToken(token);
  const clientId = req.get('x-client-id');
  const client = clientId ? await lookups.client(clientId) : await lookups.clientByTokenHash(tokenHash);
  if (!client || !sameSecret(tokenHash, client.tokenHash)) throw new ApiError(401, 'invalid_token', 'unknown client id or wrong token');
  return client;
}

/** Routes a rover calls with its own token: `res.locals.client` is the rover. */
export function roverOnly(lookups: Pick<RegistryLookups, 'client' | 'clientByTokenHash'>): RequestHandler {
  return async (req, res, next) => {
    res.locals.client = await authenticateRover(req, lookups);
    next();
  };
}
