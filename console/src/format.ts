/** How numbers and times read on every page. */
export const mm = (value: number | null | undefined, digits = 1) => (value == null ? '–' : `${value.toFixed(digits)} mm`);
export const num = (value: number | null | undefined, digits = 2) => (value == null ? '–' : value.toFixed(digits));
export const pct = (value: number | null | undefined) => (value == null ? '–' : `${(value * 100).toFixed(0)} %`);

export function time(iso: string | number | null | undefined): string {
  if (iso == null) return '–';
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function ago(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso == null) return 'never';
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export const version = (v: number | string | null | undefined) => (v == null ? '–' : v === 'latest' ? 'latest' : `v${v}`);

/** A p-value as people read them: 0.0123, 4.5e-7; one that underflowed to 0 as "< 1e-300". */
export function pValue(p: number | null | undefined): string {
  if (p == null) return '–';
  if (p === 0) return '< 1e-300';
  if (p >= 0.001) return p.toFixed(p >= 0.1 ? 2 : 4);
  return p.toExponential(1);
}

export const ratio = (value: number | null | undefined) => (value == null ? '–' : `${value.toFixed(2)}×`);

/** Ticks of a log p-value axis: 0.01, 1e-8. */
export const pTick = (p: number) => (p >= 0.001 ? String(p) : p.toExponential(0));
