import type { ComponentChildren } from 'preact';
import type { Loaded } from '../hooks';

/** Renders a loaded answer, or says why there is none. */
export function Loading<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (state.data !== undefined)
    return (
      <>
        {state.error && <Problem text={`Not updated: ${state.error.message}`} />}
        {children(state.data)}
      </>
    );
  if (state.error) return <Problem text={state.error.message} />;
  return <p class="loading">Loading…</p>;
}

export function Problem({ text }: { text: string }) {
  return (
    <p class="problem" role="alert">
      {text}
    </p>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge ${tone}`}>{children}</span>;
}
