/**
 * What every workflow of the loop and everything that starts or finds one share: task queues, workflow type names,
 * search attributes. Deterministic code only (the workflow bundle imports it).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

/** Task queues: light orchestration steps (and the workflows), and CPU-heavy ML steps (scaled separately). */
export const TASK_QUEUES = { orchestration: 'orchestration', training: 'training' } as const;

/** The workflow types, as Temporal knows them (each is the name of the function in workflows/index.ts). */
export const WORKFLOW_TYPES = { trainAndRegister: 'TrainAndRegister', rollout: 'Rollout', checkDrift: 'CheckDrift' } as const;

/** The model a run works for: every workflow sets it, so `ModelName = "distance"` finds a model's whole history. */
export const MODEL_NAME_ATTRIBUTE = defineSearchAttributeKey('ModelName', 'KEYWORD');
/** Who asked for a TrainAndRegister run (grafana, manual, cli, drift-monitor). */
export const TRIGGER_ATTRIBUTE = defineSearchAttributeKey('RetrainTrigger', 'KEYWORD');
/** How a Rollout ended (promoted, rolled-back, aborted, superseded, not-started); unset while it runs. */
export const ROLLOUT_OUTCOME_ATTRIBUTE = defineSearchAttributeKey('RolloutOutcome', 'KEYWORD');

/** Every search attribute the workflows set: the namespace must have each registered. */
export const SEARCH_ATTRIBUTES = [MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE, ROLLOUT_OUTCOME_ATTRIBUTE];
