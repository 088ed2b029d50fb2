import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, getJson } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  /** Epoch ms of the last answer. */
  at: number | undefined;
  reload: () => void;
}

/**
 * GETs a path, and again every `pollMs` while the tab is visible (EventSource cannot send the bearer token, so live
 * pages poll). The last answer stays shown while the next one loads, also when the path changes (a new range, another
 * histogram field): no blink. A page is mounted afresh for each route (main.tsx keys it by path), so another
 * deployment's data never shows under this one's title. A null path loads nothing.
 */
export function useApi<T>(path: string | null, { pollMs }: { pollMs?: number } = {}): Loaded<T> {
  return usePoll(path, () => getJson<T>(path!), { pollMs });
}

/**
 * useApi's loading and polling for an answer made of several requests: `load` is run again when `key` changes (null:
 * nothing to load) and every `pollMs` while the tab is visible.
 */
export function usePoll<T>(key: string | null, load: () => Promise<T>, { pollMs }: { pollMs?: number } = {}): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: key != null,
    at: undefined,
  });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  // The newest load, so a caller's fresh closure on each render does not restart the polling.
  const latest = useRef(load);
  latest.current = load;

  useEffect(() => {
    if (key == null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true }));
    const run = async () => {
      try {
        const data = await latest.current();
        if (!stopped) setState({ data, error: undefined, loading: false, at: Date.now() });
      } catch (err) {
        const error = err instanceof ApiFailure ? err : new ApiFailure(0, 'client', (err as Error).message);
        if (!stopped) setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && pollMs) timer = setTimeout(tick, pollMs);
    };
    const tick = () => {
      if (document.hidden) timer = setTimeout(tick, pollMs);
      else void run();
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, pollMs, generation]);

  return { ...state, reload };
}

/** The hash route (`#/deployments/beige` -> `/deployments/beige`), updated on navigation. */
export function useHashPath(): string {
  const read = () => decodeURI(location.hash.replace(/^#/, '')) || '/';
  const [hashPath, setHashPath] = useState(read);
  useEffect(() => {
    const changed = () => setHashPath(read());
    addEventListener('hashchange', changed);
    // Effects run after paint: the hash may have changed between the first render and this listener.
    changed();
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hashPath;
}
