import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ApiError } from './errors.js';

/** Client tokens are 32 random bytes, so a plain SHA-256 is a safe stored form. */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
export const newClientToken = () => randomBytes(32).toString('base64url');

export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerToken(req: Request): string | undefined {
  const header = req.get('authorization');
  const match = header?.match(/^Bearer\s+(.+)$/i);
  return match?.[1].trim();
}

/** Requires `Authorization: Bearer <secret>` equal to the given secret. */
export function requireBearer(secret: string, realm: string): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req);
    if (!token) return next(new ApiError(401, 'missing_token', `${realm} requires an Authorization: Bearer token`));
    if (!sameSecret(token, secret)) return next(new ApiError(401, 'invalid_token', `wrong ${realm} token`));
    next();
  };
}
