import { describe, expect, it } from 'vitest';
import { exposureProblems, isLoopback } from '../../api/exposure.js';
import { loadConfig } from '../../core/config.js';

const strong = { adminToken: 'a-secret-of-our-own-1234', webhookToken: 'another-secret-of-ours-5678' };

describe('API exposure check', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.10', false],
    ['api.example.com', false],
  ])('%s is loopback: %s', (host, loopback) => expect(isLoopback(host)).toBe(loopback));

  it('lets the development defaults listen on loopback only', () => {
    const defaults = loadConfig({}).api;
    expect(exposureProblems(defaults)).toEqual([]);
    expect(exposureProblems({ ...defaults, host: '0.0.0.0' })).toEqual([expect.stringMatching(/ADMIN_TOKEN and WEBHOOK_TOKEN are unset/)]);
  });

  it('treats an empty token as unset, so it never reaches a non-loopback host as the dev token', () => {
    const api = loadConfig({ API_HOST: '0.0.0.0', ADMIN_TOKEN: '', WEBHOOK_TOKEN: strong.webhookToken }).api;
    expect(exposureProblems(api)).toEqual([expect.stringMatching(/but ADMIN_TOKEN is unset, empty or a published default/)]);
  });

  it('refuses the .env.example placeholders and accepts secrets of your own', () => {
    expect(exposureProblems({ host: '0.0.0.0', ...strong, webhookToken: 'change-me-webhook-token' })).toHaveLength(1);
    expect(exposureProblems({ host: '0.0.0.0', ...strong })).toEqual([]);
  });
});
