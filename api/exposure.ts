import net from 'node:net';
import { DEV_ADMIN_TOKEN, DEV_WEBHOOK_TOKEN } from '../core/config.js';

/** Names that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** The development defaults and the placeholders of .env.example: secrets anyone can read. */
function isPublicSecret(token: string, devDefault: string): boolean {
  return token === devDefault || token.toLowerCase().startsWith('change-me');
}

/**
 * Why the API must not listen on `host` with these tokens (empty when it may). An unset or empty
 * token means the development default, which is fine on loopback and refused anywhere else.
 */
export function exposureProblems(api: { host: string; adminToken: string; webhookToken: string }): string[] {
  if (isLoopback(api.host)) return [];
  const problems: string[] = [];
  if (isPublicSecret(api.adminToken, DEV_ADMIN_TOKEN)) problems.push('ADMIN_TOKEN');
  if (isPublicSecret(api.webhookToken, DEV_WEBHOOK_TOKEN)) problems.push('WEBHOOK_TOKEN');
  if (problems.length === 0) return [];
  return [
    `API_HOST=${api.host} is reachable from other machines, but ${problems.join(' and ')} ${problems.length > 1 ? 'are' : 'is'} ` +
      'unset, empty or a published default (dev-* or change-me-*): set each to a secret of your own, ' +
      'e.g. `openssl rand -hex 32`, or listen on 127.0.0.1',
  ];
}
