/**
 * The console's only way to the server: the JSON API with the session's bearer token. The token lives in
 * sessionStorage (gone with the tab), never in a URL or a cookie, so a cross-site page cannot act for the user.
 */
const TOKEN_KEY = 'console.token';

export const storedToken = () => sessionStorage.getItem(TOKEN_KEY);
export const storeToken = (token: string) => sessionStorage.setItem(TOKEN_KEY, token);
export const forgetToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** An answer other than 2xx: the API's `{error: {code, message}}`, or the network's failure (status 0). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value != null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

/** Listeners told when the server refuses the token (the session ends). */
const unauthorisedListeners = new Set<() => void>();
export const onUnauthorised = (listener: () => void) => {
  unauthorisedListeners.add(listener);
  return () => unauthorisedListeners.delete(listener);
};

async function request(method: string, path: string, body?: unknown, token = storedToken()): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
  } catch (err) {
    throw new ApiFailure(0, 'network', `the API cannot be reached (${(err as Error).message})`);
  }
  if (response.ok) return response;
  const answer = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (response.status === 401) unauthorisedListeners.forEach((listener) => listener());
  throw new ApiFailure(response.status, answer?.error?.code ?? 'http_' + response.status, answer?.error?.message ?? response.statusText);
}

export async function getJson<T>(path: string, token?: string): Promise<T> {
  return (await (await request('GET', path, undefined, token)).json()) as T;
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T | null> {
  const response = await request(method, path, body);
  return response.status === 204 ? null : ((await response.json()) as T);
}

/** An image behind the token (an <img src> cannot send the header): an object URL the caller revokes. */
export async function imageUrl(path: string): Promise<string> {
  return URL.createObjectURL(await (await request('GET', path)).blob());
}
