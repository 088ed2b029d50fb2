import type { ComponentChildren } from 'preact';

/** A headline number: what it is, the value, and a line under it. */
export function Card({ label, value, note }: { label: string; value: ComponentChildren; note?: ComponentChildren }) {
  return (
    <div class="card">
      <div class="label">{label}</div>
      <div class="value">{value}</div>
      {note != null && note !== '' && <div class="muted">{note}</div>}
    </div>
  );
}
