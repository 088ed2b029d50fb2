import { OperatorError, unreachableReason } from '../core/commandLine.js';

/** The API over HTTP with one bearer token, as an engineer's script (demo, bench) calls it. */
export type ApiCall = <T = any>(method: string, path: string, body?: unknown) => Promise<T>;

/** An answer other than 2xx: one line with the call, the status and the API's error code and message. */
export class ApiAnswerError extends OperatorError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
    hint = '',
  ) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    super(`${method} ${path} -> ${status}${error ? ` ${error.code}: ${error.message}` : ` ${JSON.stringify(body)}`}${hint}`);
  }
}

/**
 * Calls the API with the token; `tokenSetting` names where the token came from, for the message when the API
 * refuses it. An unreachable API or a refused token is an OperatorError that says what to do.
 */
export function apiClient(apiUrl: string, token: string, tokenSetting = 'ADMIN_TOKEN'): ApiCall {
  return async (method, path, body) => {
    let res: Response;
    try {
      res = await fetch(apiUrl + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const reason = unreachableReason(err);
      if (reason === undefined) throw err;
      throw new OperatorError(
        `cannot reach the API at ${apiUrl} (${reason}): start it with \`npm start\`, or set API_URL (or API_PORT) to where it listens`,
      );
    }
    const text = res.status === 204 ? '' : await res.text();
    let json: any;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new OperatorError(`${method} ${apiUrl}${path} -> ${res.status}, not JSON: is ${apiUrl} the API? (${text.slice(0, 80)})`);
    }
    if (res.status === 401 || res.status === 403)
      throw new ApiAnswerError(method, path, res.status, json, `; set ${tokenSetting} to the API's admin token (its ADMIN_TOKEN setting)`);
    if (!res.ok) throw new ApiAnswerError(method, path, res.status, json);
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
