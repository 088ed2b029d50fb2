import { z } from 'zod';
import { clientSchema } from './registry.js';

export const createdClientAnswerSchema = z
  .object({
    client: clientSchema,
    token: z.string().meta({ description: 'the rover’s bearer token, shown only this once' }),
    note: z.string(),
  })
  .meta({ id: 'CreatedClientAnswer' });
export const clientListAnswerSchema = z.object({ clients: z.array(clientSchema) }).meta({ id: 'ClientListAnswer' });
export const clientAnswerSchema = z.object({ client: clientSchema }).meta({ id: 'ClientAnswer' });
export const clientAssignmentAnswerSchema = z
  .object({ clientId: z.string(), deploymentId: z.string().nullable() })
  .meta({ id: 'ClientAssignmentAnswer' });

export type CreatedClientAnswer = z.infer<typeof createdClientAnswerSchema>;
export type ClientListAnswer = z.infer<typeof clientListAnswerSchema>;

/** `GET /clients/me`, with a rover's own token: who it is and which deployment and version it belongs to. */
export const clientSelfAnswerSchema = z
  .object({
    client: z.object({ id: z.string(), name: z.string() }),
    deployment: z
      .object({ id: z.string(), modelName: z.string(), currentVersion: z.number().int().nullable() })
      .nullable()
      .meta({ description: 'null: not assigned to a deployment yet' }),
  })
  .meta({ id: 'ClientSelfAnswer' });
export type ClientSelfAnswer = z.infer<typeof clientSelfAnswerSchema>;
