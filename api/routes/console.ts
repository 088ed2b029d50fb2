import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { ApiError } from '../errors.js';

/** Where scripts/buildConsole.ts writes the bundle. */
export const CONSOLE_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

/**
 * Only the console's own files: no inline script, no framing, no other origin. Inline styles are allowed: Observable
 * Plot writes each figure's <style> and style attributes, and a style cannot run code. Data comes from this API with
 * the bearer token the page holds; the files themselves carry none, so they need no token.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** `GET /console/`: the web console's static files (hash routes, so one index.html serves every page). */
export function consoleRoutes({ dist = CONSOLE_DIST }: { dist?: string } = {}): Router {
  const router = Router();
  router.use('/console', (_req, res, next) => {
    res.set({
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    if (!existsSync(path.join(dist, 'index.html')))
      return next(new ApiError(503, 'console_not_built', 'the console is not built: run npm run console:build (npm run setup does)'));
    next();
  });
  // The bundle's paths are relative to /console/.
  router.get('/console', (req, res, next) => (req.originalUrl.split('?')[0].endsWith('/') ? next() : res.redirect(301, '/console/')));
  router.use('/console', express.static(dist, { index: 'index.html', redirect: false, fallthrough: true }));
  return router;
}
