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
