import type { RegisteredClient, Deployment, RegistryStore } from '../core/stores/registry.js';

export class RegistryUnavailableError extends Error {
  readonly code = 'registry_unavailable';
}

interface Cached<V> {
  value: V;
  at: number;
  /** Answers from before the last change through this process are stale, but still serve during an outage. */
  generation: number;
}

/** Registry methods after which cached clients and deployments are stale. */
const MUTATIONS = new Set([
  'createClient',
  'assignClient',
  'deleteClient',
  'createDeployment',
  'updateDeployment',
  'deleteDeployment',
  'rollbackDeployment',
]);

/** Past this many entries a cache starts over (unknown ids are cached too). */
const MAX_ENTRIES = 10_000;
/** A registry that does not answer within this is treated as down for this lookup. */
const LOOKUP_DEADLINE_MS = 2000;
/** An unknown token refreshes the token index at most this often. */
const MIN_INDEX_REFRESH_MS = 1000;

export interface RegistryLookupsOptions {
  /** How long an answer is trusted before the registry is asked again. */
  ttlMs: number;
  log: { info(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  /** Told whether each lookup was answered from the cache (the API's metrics); stale: cached, served while the registry is down. */
  metrics?: { lookup(lookup: 'client' | 'deployment' | 'token', result: 'hit' | 'miss' | 'stale'): void };
}

/**
 * The client and deployment lookups of /predict, cached for a short TTL. When the registry
 * cannot answer, the last known client or deployment keeps serving; a lookup with no such
 * answer (not cached, or known only as missing) fails with RegistryUnavailableError. Changes made through `invalidatingOnChange(registry)`
 * in this process clear the cache at once; other processes see them within the TTL.
 * An outage is logged once when it starts and once when it ends.
 */
export class RegistryLookups {
  private readonly clients = new Map<string, Cached<RegisteredClient | undefined>>();
  private readonly deployments = new Map<string, Cached<Deployment | undefined>>();
  private tokenIndex: Cached<Map<string, RegisteredClient>> | undefined;
  private generation = 0;
  private down = false;

  constructor(
    private readonly registry: RegistryStore,
    private readonly options: RegistryLookupsOptions,
  ) {}

  client(id: string): Promise<RegisteredClient | undefined> {
    return this.read('client', this.clients, id, () => this.registry.getClient(id));
  }

  deployment(id: string): Promise<Deployment | undefined> {
    return this.read('deployment', this.deployments, id, () => this.registry.getDeployment(id));
  }

  /** The client whose token has this SHA-256 hash (rovers that send no client id header). */
  async clientByTokenHash(hash: string): Promise<RegisteredClient | undefined> {
    const index = this.tokenIndex;
    const age = index && index.generation === this.generation ? Date.now() - index.at : Infinity;
    const hit = index?.value.get(hash);
    if (index && (age < this.options.ttlMs || (!hit && age < MIN_INDEX_REFRESH_MS))) {
      this.options.metrics?.lookup('token', 'hit');
      return hit;
    }
    const generation = this.generation;
    const at = Date.now();
    try {
      const clients = await this.withDeadline(this.registry.listClients());
      const value = new Map(clients.map((c) => [c.tokenHash, c]));
      this.tokenIndex = { value, at, generation };
      this.recovered();
      this.options.metrics?.lookup('token', 'miss');
      return value.get(hash);
    } catch (err) {
      this.failed(err);
      // A token the stale index does not know may belong to a client created since: no answer either way.
      if (hit) {
        this.options.metrics?.lookup('token', 'stale');
        return hit;
      }
      throw new RegistryUnavailableError('the registry cannot be reached and this client is not cached; try again shortly');
    }
  }

  invalidate(): void {
    this.generation++;
  }

  /** The registry, with every change of clients or deployments through it invalidating these lookups. */
  invalidatingOnChange(registry: RegistryStore): RegistryStore {
    return new Proxy(registry, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (!MUTATIONS.has(String(property))) return value.bind(target);
        return async (...args: unknown[]) => {
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            this.invalidate();
          }
        };
      },
    });
  }

  private async read<V>(lookup: 'client' | 'deployment', cache: Map<string, Cached<V>>, key: string, load: () => Promise<V>): Promise<V> {
    const hit = cache.get(key);
    if (hit && hit.generation === this.generation && Date.now() - hit.at < this.options.ttlMs) {
      this.options.metrics?.lookup(lookup, 'hit');
      return hit.value;
    }
    const generation = this.generation;
    // Aged from when the read began: a change committed while it ran is then seen within the TTL of committing.
    const at = Date.now();
    try {
      const value = await this.withDeadline(load());
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, { value, at, generation });
      this.recovered();
      this.options.metrics?.lookup(lookup, 'miss');
      return value;
    } catch (err) {
      this.failed(err);
      if (hit && hit.value !== undefined) {
        this.options.metrics?.lookup(lookup, 'stale');
        return hit.value;
      }
      throw new RegistryUnavailableError('the registry cannot be reached and this lookup is not cached; try again shortly');
    }
  }

  private withDeadline<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the registry did not answer within ${LOOKUP_DEADLINE_MS} ms`)), LOOKUP_DEADLINE_MS);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  }

  private failed(err: unknown) {
    if (this.down) return;
    this.down = true;
    this.options.log.warn({ err: (err as Error).message }, 'registry unreachable: /predict serves cached clients and deployments');
  }

  private recovered() {
    if (!this.down) return;
    this.down = false;
    this.options.log.info({}, 'registry reachable again');
  }
}
