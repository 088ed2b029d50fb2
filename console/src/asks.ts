type Loose = Record<string, unknown> | null | undefined;
const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
const obj = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

function sweepText(sweep: Loose): string | undefined {
  if (!sweep) return undefined;
  const names: Record<string, string> = { epochs: 'epochs', batchSizes: 'batch', dropouts: 'dropout', learningRates: 'lr' };
  const parts = Object.entries(sweep)
    .filter(([, v]) => Array.isArray(v))
    .map(([k, v]) => `${names[k] ?? k} ${(v as unknown[]).join('/')}`);
  return parts.length ? parts.join(', ') : undefined;
}

/**
 * Who or what asked for a retrain, and what it asked, from the request's recorded payload (its shape depends on the
 * trigger: a manual or CLI ask's body, a rerun's ask, a Grafana alert, the drift check the monitor asked for).
 */
export function describeAsk(request: { trigger: string; payload: unknown }): { who: string; what: string } {
  const payload = obj(request.payload);
  const ask = obj(payload?.ask);
  if (request.trigger === 'grafana') {
    const labels = obj(payload?.labels) ?? {};
    const where = [text(labels.deployment) && `deployment ${labels.deployment}`, text(labels.model) && `model ${labels.model}`]
      .filter(Boolean)
      .join(', ');
    const since = text(payload?.startsAt);
    return {
      who: `Grafana alert ${text(labels.alertname) ?? '(unnamed)'}`,
      what: [where || 'no deployment label', since && `firing since ${since}`].filter(Boolean).join('; '),
    };
  }
  if (request.trigger === 'drift-monitor') {
    const deployment = text(ask?.deployment) ?? '?';
    const version = typeof ask?.modelVersion === 'number' ? ` v${ask.modelVersion}` : '';
    return { who: 'drift monitor', what: `${deployment}${version}: ${text(ask?.summary) ?? text(ask?.verdict) ?? 'drift'}` };
  }
  const who = text(ask?.by) ?? 'api';
  if (typeof ask?.fromVersion === 'number') {
    const parts = [`rerun of v${ask.fromVersion}`, sweepText(obj(ask.sweep)), text(ask.registerPolicy) && `register ${ask.registerPolicy}`];
    return { who, what: parts.filter(Boolean).join('; ') };
  }
  const overrides = obj(ask?.overrides);
  const parts = [
    text(ask?.reason),
    overrides && Object.keys(overrides).length ? `overrides ${Object.keys(overrides).join(', ')}` : undefined,
    sweepText(obj(overrides?.sweep)),
  ];
  return { who, what: parts.filter(Boolean).join('; ') || 'no reason given, the stored training config' };
}
