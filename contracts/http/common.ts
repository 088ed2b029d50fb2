import { z } from 'zod';

/**
 * The wire format of the HTTP API, shared by the API (api/, which validates with and describes these schemas in
 * /openapi.json), the rover client (edge/) and the scripts. A leaf: it imports zod and core/ schemas, never api/.
 */

/** Every refusal and failure: its HTTP status, a stable code and a message for a person. */
export const errorBodySchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .meta({ id: 'Error', description: 'Every 4xx and 5xx answer: a stable code and a message for a person.' });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** An instant as ISO 8601 in UTC, as the registry keeps every time. */
export const isoTime = z.iso.datetime().meta({ description: 'ISO 8601 instant (UTC)' });

/** An instant as milliseconds since the epoch (the measurement store's times). */
export const epochMs = z.number().int().meta({ description: 'milliseconds since 1970-01-01T00:00:00Z' });

export const metricsSchema = z.record(z.string(), z.number());
export const paramsSchema = z.record(z.string(), z.union([z.number(), z.string()]));

/** Where a Temporal workflow run is: this API's status route and the Temporal Web UI. */
export const runLinksSchema = z.object({ status: z.string(), ui: z.url() });

/**
 * An object the API passes on as another module made it (a workflow's result, a query's answer, a drift check's
 * evidence): described as an object, typed as that module's own type `T` for the scripts that read it.
 */
export function typedObject<T>(description: string): z.ZodType<T>;
export function typedObject<T>(description: string, options: { nullable: true }): z.ZodType<T | null>;
export function typedObject<T>(description: string, options: { nullable?: boolean } = {}) {
  return z
    .custom<T>((value) => typeof value === 'object' && (options.nullable || value !== null))
    .meta({ type: options.nullable ? ['object', 'null'] : 'object', description });
}
