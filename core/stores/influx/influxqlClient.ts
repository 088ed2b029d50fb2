import type { InfluxLocation } from './influxLocation.js';

/** One series of an InfluxQL answer, turned into rows keyed by column name. */
export interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  rows: Record<string, unknown>[];
}

export class InfluxQueryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'InfluxQueryError';
  }
}

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}
interface RawChunk {
  results?: { statement_id: number; series?: RawSeries[]; error?: string; partial?: boolean }[];
  error?: string;
}

/**
 * InfluxQL over the v1 `/query` API with bound parameters (`$name` in the query, values sent
 * separately), chunked so large answers stream instead of hitting a row limit.
 * The official JS client speaks only Flux, which InfluxDB 1.x and Grafana's InfluxQL mode do not.
 */
export class InfluxqlClient {
  constructor(private readonly where: InfluxLocation) {}

  private authorization(): string | undefined {
    if (this.where.user) return `Basic ${Buffer.from(`${this.where.user}:${this.where.password ?? ''}`).toString('base64')}`;
    return this.where.token ? `Token ${this.where.token}` : undefined;
  }

  async query(q: string, params: Record<string, string | number> = {}): Promise<InfluxSeries[]> {
    const body = new URLSearchParams({
      db: this.where.database,
      rp: this.where.retentionPolicy,
      q,
      params: JSON.stringify(params),
      epoch: 'ms',
      chunked: 'true',
      chunk_size: '10000',
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const auth = this.authorization();
    if (auth) headers.authorization = auth;
    let res: Response;
    try {
      res = await fetch(`${this.where.url}/query`, { method: 'POST', body, headers, signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new InfluxQueryError(`InfluxDB at ${this.where.url} is unreachable: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new InfluxQueryError(`InfluxDB answered ${res.status}: ${text.slice(0, 300)}`, res.status);
    return mergeChunks(text);
  }
}

/** A chunked answer is one JSON document per line; a series may continue over several chunks. */
function mergeChunks(text: string): InfluxSeries[] {
  const merged = new Map<string, InfluxSeries>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const chunk = JSON.parse(line) as RawChunk;
    if (chunk.error) throw new InfluxQueryError(chunk.error);
    for (const result of chunk.results ?? []) {
      if (result.error) throw new InfluxQueryError(result.error);
      for (const s of result.series ?? []) {
        const key = `${s.name}|${JSON.stringify(s.tags ?? {})}`;
        let series = merged.get(key);
        if (!series) merged.set(key, (series = { name: s.name, tags: s.tags, rows: [] }));
        for (const values of s.values ?? []) {
          series.rows.push(Object.fromEntries(s.columns.map((c, i) => [c, values[i]])));
        }
      }
    }
  }
  return [...merged.values()];
}
