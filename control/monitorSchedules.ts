import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { monitorConfigSchema, type MonitorConfig } from '../core/drift/monitorConfig.js';
import type { Model, RegistryStore } from '../core/stores/registry.js';
import { checkDriftWorkflowIdFor, monitorScheduleIdFor, type CheckDriftInput } from '../workflows/checkDrift/contract.js';
import { ControlError } from './errors.js';
import { callTemporal, type TemporalAccess } from './temporal/access.js';
import { MODEL_NAME_ATTRIBUTE, TASK_QUEUES, WORKFLOW_TYPES } from '../workflows/shared.js';

export interface MonitorScheduleDeps extends TemporalAccess {
  registry: RegistryStore;
}

/** Where a model's drift monitor stands in Temporal: its schedule, or why it has none. */
export type MonitorSchedule =
  | { scheduleId: string; state: 'absent'; reason: string }
  | {
      scheduleId: string;
      state: 'active' | 'paused';
      intervalSeconds: number;
      nextChecks: string[];
      recentChecks: { scheduledAt: string; workflowId: string; runId: string }[];
      /** Why it is paused, when it is. */
      note?: string;
    };

/**
 * Makes the model's drift-monitor schedule match the registry: one schedule per model that has a training config
 * and deployments, checking every `intervalSeconds`, paused while the monitor is turned off, deleted when the
 * model has nothing to check. Checks never pile up: a check still running when the next is due makes it skip.
 */
export async function syncMonitorSchedule(deps: MonitorScheduleDeps, modelName: string): Promise<MonitorSchedule> {
  const scheduleId = monitorScheduleIdFor(modelName);
  const until = Date.now() + SYNC_SETTLE_DEADLINE_MS;
  let monitored = await monitoredModel(deps.registry, modelName);
  // API replicas sync one model at once: the schedule holds whichever write landed last, perhaps from an older read.
  // So each writer reads the registry again after writing, and writes again if it changed meanwhile: the last write
  // is then followed by a read of the registry's last word. Past the deadline, the changes' own syncs follow them.
  for (;;) {
    const wanted = monitored;
    if ('reason' in wanted) await callTemporal(deps, (client) => deleteIfPresent(client, scheduleId));
    else await callTemporal(deps, (client) => upsertSchedule(client, modelName, wanted.config));
    monitored = await monitoredModel(deps.registry, modelName);
    if (JSON.stringify(monitored) === JSON.stringify(wanted) || Date.now() > until) break;
  }
  if ('reason' in monitored) return { scheduleId, state: 'absent', reason: monitored.reason };
  return describeMonitorSchedule(deps, modelName);
}

/** MONITOR_RESYNC_SECONDS' default. */
const DEFAULT_RESYNC_EVERY_MS = 600_000;

/** How long one sync keeps following a model's monitor changes made meanwhile (through other replicas). */
const SYNC_SETTLE_DEADLINE_MS = 10_000;

/** The monitor config of a model with something to monitor, or why it has nothing. */
async function monitoredModel(registry: RegistryStore, modelName: string): Promise<{ config: MonitorConfig } | { reason: string }> {
  const model = await registry.getModel(modelName);
  if (!model?.trainingConfig)
    return { reason: 'the model has no training config (PUT /models/:name/training-config), so a drift could not be retrained' };
  if (!(await registry.listDeployments()).some((d) => d.modelName === modelName)) return { reason: 'no deployment serves the model' };
  return { config: monitorConfigSchema.parse(model.monitorConfig ?? {}) };
}

/** Every model's schedule made to match the registry (at start-up: monitoring is on by default). */
export async function syncAllMonitorSchedules(deps: MonitorScheduleDeps): Promise<MonitorSchedule[]> {
  const schedules: MonitorSchedule[] = [];
  for (const model of await deps.registry.listModels()) schedules.push(await syncMonitorSchedule(deps, model.name));
  return schedules;
}

export async function describeMonitorSchedule(deps: MonitorScheduleDeps, modelName: string): Promise<MonitorSchedule> {
  const scheduleId = monitorScheduleIdFor(modelName);
  const described = await callTemporal(deps, async (client) => {
    try {
      return await client.schedule.getHandle(scheduleId).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return undefined;
      throw err;
    }
  });
  if (!described) {
    const monitored = await monitoredModel(deps.registry, modelName);
    const reason = 'reason' in monitored ? monitored.reason : 'not set up yet: the API sets it up as soon as Temporal answers';
    return { scheduleId, state: 'absent', reason };
  }
  const interval = described.spec.intervals?.[0]?.every;
  return {
    scheduleId,
    state: described.state.paused ? 'paused' : 'active',
    intervalSeconds: typeof interval === 'number' ? interval / 1000 : Number.NaN,
    nextChecks: described.info.nextActionTimes.map((t) => t.toISOString()),
    recentChecks: described.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    ...(described.state.paused && described.state.note ? { note: described.state.note } : {}),
  };
}

/**
 * A check of every deployment of the model now, by its schedule: refused (`conflict`) while the monitor is off, as it
 * would check nothing, and when the model has nothing to monitor. Returns the schedule that runs it.
 */
export async function requestMonitorCheck(deps: MonitorScheduleDeps, model: Model): Promise<MonitorSchedule> {
  if (!monitorConfigSchema.parse(model.monitorConfig ?? {}).enabled)
    throw new ControlError(
      'conflict',
      'monitor_disabled',
      `the drift monitor of model "${model.name}" is off, so a check would look at nothing: PUT /models/${model.name}/monitor {"enabled": true} turns it on`,
    );
  const schedule = await syncMonitorSchedule(deps, model.name);
  if (schedule.state === 'absent')
    throw new ControlError('conflict', 'monitor_not_scheduled', `model "${model.name}" has no drift monitor: ${schedule.reason}`);
  if (!(await triggerMonitorCheck(deps, model.name)))
    throw new ControlError('conflict', 'monitor_not_scheduled', `model "${model.name}" has no drift monitor schedule`);
  return schedule;
}

/** Runs a check now, outside the schedule's rhythm, even beside a running one (a trigger allows the overlap; a drift both find asks once, by its dedupe key). */
async function triggerMonitorCheck(deps: TemporalAccess, modelName: string): Promise<boolean> {
  return callTemporal(deps, async (client) => {
    try {
      await client.schedule.getHandle(monitorScheduleIdFor(modelName)).trigger();
      return true;
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return false;
      throw err;
    }
  });
}

const PAUSED_NOTE = 'drift monitor turned off: PUT /models/:name/monitor {"enabled": true} turns it on';

function scheduleOf(modelName: string, config: MonitorConfig) {
  const action: ScheduleOptionsStartWorkflowAction<(input: CheckDriftInput) => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPES.checkDrift,
    args: [{ modelName }],
    taskQueue: TASK_QUEUES.orchestration,
    workflowId: checkDriftWorkflowIdFor(modelName),
    typedSearchAttributes: [{ key: MODEL_NAME_ATTRIBUTE, value: modelName }],
    // In the Web UI's list; `WorkflowType != "CheckDrift"` leaves the monitor's runs out of it.
    staticSummary: `drift check of ${modelName}'s deployments (drift monitor schedule)`,
    // A check reads stores for seconds; one stuck past this is ended, and the next due check runs.
    workflowExecutionTimeout: '10 minutes',
  };
  return {
    spec: { intervals: [{ every: `${config.intervalSeconds}s` }] },
    action,
    // SKIP: a due check while one is running is dropped, never queued; after an outage only the latest missed one runs.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    state: config.enabled ? { paused: false } : { paused: true, note: PAUSED_NOTE },
  };
}

async function upsertSchedule(client: Client, modelName: string, config: MonitorConfig): Promise<void> {
  const scheduleId = monitorScheduleIdFor(modelName);
  const wanted = scheduleOf(modelName, config);
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((previous) => ({ ...previous, ...wanted }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    try {
      await client.schedule.create({ scheduleId, ...wanted });
    } catch (raced) {
      // Another API process created it meanwhile: make it ours.
      if (!(raced instanceof ScheduleAlreadyRunning)) throw raced;
      await handle.update((previous) => ({ ...previous, ...wanted }));
    }
  }
}

async function deleteIfPresent(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

/**
 * Keeps every model's schedule in step with the registry from the API: at start-up (monitoring is on by default),
 * and after each change of a model's training config, monitor config or deployments. A change made while Temporal
 * is unreachable is kept in the registry and applied by `catchUp`, which the API calls every few seconds. Every
 * `resyncEveryMs` each API syncs every model again: a change whose API stopped before it could sync it (Temporal
 * unreachable, then a scale-down) reaches its schedule through the APIs still running.
 */
export class MonitorScheduleKeeper {
  private readonly unsynced = new Set<string>();
  /** Epoch ms of the last sync of every model; undefined until the start-up sync has run. */
  private syncedAllAt?: number;
  private catchingUp?: Promise<void>;

  constructor(
    private readonly deps: MonitorScheduleDeps,
    private readonly resyncEveryMs = DEFAULT_RESYNC_EVERY_MS,
  ) {}

  /** After a registry change: never fails the change itself. */
  async modelChanged(modelName: string): Promise<void> {
    try {
      await syncMonitorSchedule(this.deps, modelName);
      this.unsynced.delete(modelName);
    } catch (err) {
      this.unsynced.add(modelName);
      this.deps.log?.warn({ err: (err as Error).message, modelName }, 'drift monitor schedule not updated yet; retried shortly');
    }
  }

  /** One catch-up at a time: a call while one runs waits for it. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.syncOutstanding().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  private async syncOutstanding(): Promise<void> {
    if (this.syncedAllAt === undefined || Date.now() - this.syncedAllAt >= this.resyncEveryMs) {
      const startedAt = Date.now();
      await syncAllMonitorSchedules(this.deps);
      this.syncedAllAt = startedAt;
    }
    for (const modelName of [...this.unsynced]) {
      await syncMonitorSchedule(this.deps, modelName);
      this.unsynced.delete(modelName);
    }
  }
}
