/**
 * Store URLs carry credentials. User, password, path and query values are percent-encoded (RFC 3986, what
 * `encodeURIComponent` writes), so a secret may hold any character: `/ @ # ? % & $ :` included. Errors name the
 * setting and the fix, never the URL, which holds the secrets.
 */
export class StoreUrlError extends Error {
  readonly code = 'invalid_store_url';

  constructor(message: string) {
    super(message);
    this.name = 'StoreUrlError';
  }
}

const ENCODING_HINT = 'percent-encode the user, password and token (encodeURIComponent: / as %2F, @ as %40, % as %25, ...)';

/** Parses `url` as a URL of `scheme`; `form` shows the expected shape in the error. */
export function parseStoreUrl(url: string, setting: string, scheme: string, form: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreUrlError(`${setting} is not a URL of the form ${form}: ${ENCODING_HINT}`);
  }
  if (parsed.protocol !== scheme) throw new StoreUrlError(`${setting} must be a ${scheme}// URL of the form ${form}`);
  if (parsed.hash) throw new StoreUrlError(`${setting} has a "#" outside percent-encoding: ${ENCODING_HINT}`);
  return parsed;
}

/** Decodes one percent-encoded URL component; `what` names it in the error ("password in REGISTRY_URL"). */
export function decodeComponent(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new StoreUrlError(`the ${what} has a "%" that starts no percent-encoding: ${ENCODING_HINT}`);
  }
}

/**
 * The query parameters of a store URL, each decoded as a URL component. Unlike URLSearchParams (form encoding), a
 * `+` stays a `+`: API tokens are base64 and may hold one.
 */
export function queryParameters(url: URL, setting: string): Map<string, string> {
  const parameters = new Map<string, string>();
  for (const pair of url.search.slice(1).split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const [key, value] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
    const name = decodeComponent(key, `query of ${setting}`);
    parameters.set(name, decodeComponent(value, `"${name}" in ${setting}`));
  }
  return parameters;
}

/** The single path segment of a store URL (a database, a bucket), decoded; undefined when there is none or more. */
export function singlePathSegment(url: URL, what: string): string | undefined {
  const segment = url.pathname.replace(/^\/+|\/+$/g, '');
  if (!segment || segment.includes('/')) return undefined;
  return decodeComponent(segment, what);
}
