import { useCallback, useEffect, useState } from 'preact/hooks';
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
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: path != null,
    at: undefined,
  });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  useEffect(() => {
    if (path == null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true }));
    const load = async () => {
      try {
        const data = await getJson<T>(path);
        if (!stopped) setState({ data, error: undefined, loading: false, at: Date.now() });
      } catch (err) {
        const error = err instanceof ApiFailure ? err : new ApiFailure(0, 'client', (err as Error).message);
        if (!stopped) setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && pollMs) timer = setTimeout(tick, pollMs);
    };
    const tick = () => {
      if (document.hidden) timer = setTimeout(tick, pollMs);
      else void load();
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, pollMs, generation]);

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
