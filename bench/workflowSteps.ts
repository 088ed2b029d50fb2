/**
 * Wall time per step of a workflow run, read from its Temporal history: for every activity,
 * scheduled -> started (waiting for a worker slot) and started -> closed (running).
 */
import { defaultPayloadConverter, type WorkflowClient } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';

type History = Awaited<ReturnType<ReturnType<WorkflowClient['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface ActivityStep {
  activity: string;
  input: unknown;
  /** ms since the workflow started. */
  scheduledAt: number;
  startedAt?: number;
  closedAt?: number;
  outcome: 'completed' | 'failed' | 'timed out' | 'cancelled' | 'open';
  attempt: number;
}

export interface WorkflowTimeline {
  startedAtMs: number;
  totalMs?: number;
  steps: ActivityStep[];
}

const idOf = (value: { toString(): string } | null | undefined) => String(value ?? '');

export function workflowTimeline(history: History): WorkflowTimeline {
  const events: HistoryEvent[] = history.events ?? [];
  const at = (e: HistoryEvent) => tsToMs(e.eventTime);
  const start = events.find((e) => e.workflowExecutionStartedEventAttributes);
  if (!start) throw new Error('history has no WorkflowExecutionStarted event');
  const t0 = at(start);
  const steps = new Map<string, ActivityStep>();
  let totalMs: number | undefined;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const payload = scheduled.input?.payloads?.[0];
      steps.set(idOf(e.eventId), {
        activity: scheduled.activityType?.name ?? '?',
        input: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
        scheduledAt: at(e) - t0,
        outcome: 'open',
        attempt: 1,
      });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const step = steps.get(idOf(started.scheduledEventId));
      if (step) {
        step.startedAt = at(e) - t0;
        step.attempt = started.attempt ?? 1;
      }
    }
    const closed: [ActivityStep['outcome'], { scheduledEventId?: { toString(): string } | null } | null | undefined][] = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timed out', e.activityTaskTimedOutEventAttributes],
      ['cancelled', e.activityTaskCanceledEventAttributes],
    ];
    for (const [outcome, attrs] of closed) {
      const step = attrs ? steps.get(idOf(attrs.scheduledEventId)) : undefined;
      if (step) {
        step.closedAt = at(e) - t0;
        step.outcome = outcome;
      }
    }
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) totalMs = at(e) - t0;
  }
  return { startedAtMs: t0, totalMs, steps: [...steps.values()] };
}
