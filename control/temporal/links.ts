/** Where the Temporal Web UI is, for links in answers and printed commands. */
export interface TemporalUi {
  url: string;
  namespace: string;
}

/** The Web UI page of one workflow run's history. */
export const runUiLink = (ui: TemporalUi, workflowId: string, runId: string) =>
  `${ui.url}/namespaces/${ui.namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
