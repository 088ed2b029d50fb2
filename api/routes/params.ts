import { z } from 'zod';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path parameters of `GET /workflows/:workflowId/runs/:runId`: Temporal's run ids are UUIDs. */
export const workflowRunParams = z.object({
  workflowId: z.string().min(1).max(1000),
  runId: z.string().regex(UUID, 'must be a Temporal run id (a UUID)'),
});
