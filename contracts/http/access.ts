import { z } from 'zod';
import { isoTime } from './common.js';

/** Who may call the API (api/access.ts): viewers and their tokens, the caller's role, and the annotations of the charts. */

export const viewerSchema = z
  .object({ id: z.number().int(), name: z.string(), createdAt: isoTime, createdBy: z.string() })
  .meta({ id: 'Viewer', description: 'Someone who may read everything and change nothing (the token is never shown again).' });
export const createdViewerAnswerSchema = z
  .object({
    viewer: viewerSchema,
    token: z.string().meta({ description: 'the viewer’s bearer token, shown only this once' }),
  })
  .meta({ id: 'CreatedViewerAnswer' });
export const viewerListAnswerSchema = z.object({ viewers: z.array(viewerSchema) }).meta({ id: 'ViewerListAnswer' });

export const sessionAnswerSchema = z
  .object({
    role: z.enum(['admin', 'viewer']),
    name: z.string().nullable().meta({ description: 'the viewer’s name; null for the admin token, which names no one' }),
  })
  .meta({ id: 'SessionAnswer', description: 'Who the token is.' });

export const annotationSchema = z
  .object({
    id: z.number().int(),
    time: isoTime,
    text: z.string(),
    tags: z.array(z.string()),
    deployment: z.string().nullable().meta({ description: 'null: fleet-wide' }),
    by: z.string(),
  })
  .meta({ id: 'Annotation', description: 'A marker on the timeline (a demo phase, a change by hand), shown on the charts.' });
export const annotationAnswerSchema = z.object({ annotation: annotationSchema }).meta({ id: 'AnnotationAnswer' });
export const annotationListAnswerSchema = z.object({ annotations: z.array(annotationSchema) }).meta({ id: 'AnnotationListAnswer' });

export type Viewer = z.infer<typeof viewerSchema>;
export type CreatedViewerAnswer = z.infer<typeof createdViewerAnswerSchema>;
export type SessionAnswer = z.infer<typeof sessionAnswerSchema>;
export type Annotation = z.infer<typeof annotationSchema>;
export type AnnotationListAnswer = z.infer<typeof annotationListAnswerSchema>;
