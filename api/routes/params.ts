import { z } from 'zod';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Path parameters of `GET /workflows/:workflowId/runs/:runId`: Temporal's run ids are UUIDs. */
export const workflowRunParams = z.object({
  workflowId: z.string().min(1).max(1000),
  runId: z.string().regex(UUID, 'must be a Temporal run id (a UUID)'),
});

const ISO_TIME = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d))?$/;

/** A time in a query (`since`, `until`): an ISO 8601 string with its zone (or a date), or epoch milliseconds; as epoch ms. */
export const timeParam = z.string().transform((text, ctx) => {
  const ms = /^\d+$/.test(text) ? Number(text) : ISO_TIME.test(text) ? Date.parse(text) : NaN;
  if (Number.isSafeInteger(ms)) return ms;
  ctx.addIssue({
    code: 'custom',
    message: `expected an ISO 8601 time such as 2026-01-02T03:04:05Z (or epoch milliseconds), got "${text}"`,
  });
  return z.NEVER;
});
