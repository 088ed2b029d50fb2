/** A type as the API sends it: every time is an ISO 8601 string (api/isoTimes.ts). */
export type { Wire } from '../api/isoTimes.js';

/** The API over HTTP with one bearer token, as an engineer's script (demo, bench) calls it. */
export type ApiCall = <T = any>(method: string, path: string, body?: unknown) => Promise<T>;

export function apiClient(apiUrl: string, token: string): ApiCall {
  return async (method, path, body) => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = res.status === 204 ? undefined : await res.json();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** Waits until the deployment's measurements hold `expected` records (the analysis runs after each answer); returns the seconds waited. */
export async function waitForRecords(
  admin: ApiCall,
  deployment: string,
  expected: number,
  timeoutMs = 300_000,
): Promise<{ seconds: number; count: number }> {
  const started = performance.now();
  for (;;) {
    const count = (await admin<{ stats: { count: number } }>('GET', `/deployments/${deployment}/stats`)).stats.count;
    const seconds = (performance.now() - started) / 1000;
    if (count >= expected) return { seconds, count };
    if (seconds * 1000 > timeoutMs)
      throw new Error(`deployment ${deployment}: ${count} of ${expected} records stored after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
