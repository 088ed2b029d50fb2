import type { Dashboard, Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';

/**
 * Numbers the panels 1..n in reading order (rows and the panels inside collapsed rows included) and names each
 * panel's queries A, B, ... where the builder left them unnamed. The SDK leaves both to the caller.
 */
export function assignIds(dashboard: Dashboard): Dashboard {
  let next = 1;
  const visit = (panel: Panel | RowPanel) => {
    panel.id = next++;
    if (panel.type === 'row') {
      (panel as RowPanel).panels.forEach(visit);
      return;
    }
    (panel as Panel).targets?.forEach((target, i) => {
      const query = target as { refId?: string };
      query.refId ??= String.fromCharCode(65 + i);
    });
  };
  dashboard.panels?.forEach(visit);
  return dashboard;
}
