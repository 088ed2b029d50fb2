import { describe, expect, it, vi } from 'vitest';
import { RegistryLookups, RegistryUnavailableError } from '../../serving/registryLookups.js';
import type { RegisteredClient, RegistryStore } from '../../core/stores/registry.js';

/** Just the client reads of a registry, with a call count and an outage switch. */
function fakeRegistry() {
  const clients = new Map<string, RegisteredClient>();
  const state = { down: false, calls: 0 };
  const read = <T>(value: () => T) => {
    state.calls++;
    return state.down ? Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:3306')) : Promise.resolve(value());
  };
  const registry = {
    getClient: (id: string) => read(() => clients.get(id)),
    listClients: () => read(() => [...clients.values()]),
    assignClient: async (id: string, deploymentId: string | null) => {
      const client = clients.get(id);
      if (client) clients.set(id, { ...client, deploymentId });
      return client !== undefined;
    },
  } as unknown as RegistryStore;
  const add = (id: string, deploymentId: string) =>
    clients.set(id, { id, name: id, tokenHash: `hash-${id}`, deploymentId, createdAt: '2026-01-01T00:00:00.000Z' });
  return { registry, state, add, clients };
}

const quiet = { info() {}, warn() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('registry lookups of /predict', () => {
  it('asks the registry once per TTL, and sees a change made by another process after the TTL', async () => {
    const fake = fakeRegistry();
    fake.add('r1', 'a');
    const lookups = new RegistryLookups(fake.registry, { ttlMs: 150, log: quiet });
    expect((await lookups.client('r1'))?.deploymentId).toBe('a');
    for (let i = 0; i < 5; i++) await lookups.client('r1');
    expect(fake.state.calls).toBe(1);
    await fake.registry.assignClient('r1', 'b');
    expect((await lookups.client('r1'))?.deploymentId).toBe('a');
    await sleep(200);
    expect((await lookups.client('r1'))?.deploymentId).toBe('b');
  });

  it('ages an answer from when its read began: a change committed during a slow read is seen one TTL after the read began', async () => {
    vi.useFakeTimers();
    try {
      const fake = fakeRegistry();
      fake.add('r1', 'a');
      const snapshotThenSlow = fake.registry.getClient;
      // The registry answers as of when it was asked, 150 ms later.
      fake.registry.getClient = async (id: string) => {
        const answer = await snapshotThenSlow(id);
        await new Promise((r) => setTimeout(r, 150));
        return answer;
      };
      const lookups = new RegistryLookups(fake.registry, { ttlMs: 200, log: quiet });
      const first = lookups.client('r1');
      await fake.registry.assignClient('r1', 'b');
      await vi.advanceTimersByTimeAsync(150);
      expect((await first)?.deploymentId).toBe('a');
      // 250 ms after the read began, 100 ms after it ended: past the TTL of what it read.
      await vi.advanceTimersByTimeAsync(100);
      const second = lookups.client('r1');
      await vi.advanceTimersByTimeAsync(150);
      expect((await second)?.deploymentId).toBe('b');
    } finally {
      vi.useRealTimers();
    }
  });

  it('sees a change through the wrapped registry at once', async () => {
    const fake = fakeRegistry();
    fake.add('r1', 'a');
    const lookups = new RegistryLookups(fake.registry, { ttlMs: 60_000, log: quiet });
    expect((await lookups.clientByTokenHash('hash-r1'))?.deploymentId).toBe('a');
    await lookups.invalidatingOnChange(fake.registry).assignClient('r1', 'b');
    expect((await lookups.clientByTokenHash('hash-r1'))?.deploymentId).toBe('b');
  });

  it('refreshes the token index at most once a second for unknown tokens', async () => {
    const fake = fakeRegistry();
    fake.add('r1', 'a');
    const lookups = new RegistryLookups(fake.registry, { ttlMs: 0, log: quiet });
    await lookups.clientByTokenHash('hash-r1');
    for (let i = 0; i < 20; i++) expect(await lookups.clientByTokenHash(`wrong-${i}`)).toBeUndefined();
    expect(fake.state.calls).toBeLessThanOrEqual(2);
  });

  it('serves the last known client while the registry is down, and fails without internal detail otherwise', async () => {
    const fake = fakeRegistry();
    fake.add('r1', 'a');
    fake.add('r2', 'a');
    const warnings: unknown[] = [];
    const lookups = new RegistryLookups(fake.registry, { ttlMs: 0, log: { info() {}, warn: (o) => warnings.push(o) } });
    await lookups.client('r1');
    fake.state.down = true;
    expect((await lookups.client('r1'))?.id).toBe('r1');
    const failure = await lookups.client('r2').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RegistryUnavailableError);
    expect((failure as Error).message).not.toContain('10.0.0.5');
    expect(warnings).toHaveLength(1);
  });
});
