/** A comma-separated list of numbers typed in a form: its values, none when empty, or what is wrong with it. */
export function numberList(field: string, input: string): { values?: number[]; problem?: string } {
  const items = input
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return {};
  const bad = items.find((s) => !Number.isFinite(Number(s)));
  if (bad !== undefined) return { problem: `${field}: "${bad}" is not a number` };
  return { values: items.map(Number) };
}

/** A JSON object typed in a textarea, or where it is not one. */
export function jsonObject(input: string): { value?: Record<string, unknown>; problem?: string } {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch (err) {
    return { problem: `not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'the config must be a JSON object' };
  return { value: value as Record<string, unknown> };
}
