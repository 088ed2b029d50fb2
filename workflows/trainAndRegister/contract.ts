/**
 * The TrainAndRegister contract, shared by the workflow, its activities, the control layer and the scripts: input
 * and its resolution, the steps' results, workflow ids, signals, queries and start attributes.
 * Deterministic code only (the workflow bundle imports it).
 */
import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ModelVersion } from '../../core/stores/registry.js';
import type { RetrainTrigger, TriggerKind } from '../../core/training/retrainTrigger.js';
import type { SweepSpec, TrialSummary } from '../../core/training/sweep.js';
import { DEFAULT_TRAINING, DEFAULT_VALIDATION_FRACTION, type TrainingConfig } from '../../core/training/trainingConfig.js';
import { MODEL_NAME_ATTRIBUTE, TRIGGER_ATTRIBUTE } from '../shared.js';

/** One id per model: a second ask while a run is going joins it instead of starting another. */
export const trainWorkflowIdFor = (modelName: string) => `train-and-register-${modelName}`;
/** Reruns of the experiment step are runs of their own. */
export const rerunWorkflowIdFor = (modelName: string, fromVersion: number, at: number) => `rerun-${modelName}-v${fromVersion}-${at}`;

/** A run's input: the model's training config (with this ask's overrides), and who asked. */
export interface TrainAndRegisterRequest extends TrainingConfig {
  modelName: string;
  trigger: RetrainTrigger;
  /** Rerun only the experiment step on the preprocessed dataset of an earlier run (its deployments are then ignored). */
  reuseDataset?: { manifestKey: string };
  /** Asks that joined the run this one continues, after that run had assembled its dataset. */
  continuedFrom?: CoalescedRequests;
}

export type ResolvedRequest = Required<
  Omit<
    TrainAndRegisterRequest,
    'reuseDataset' | 'sweep' | 'parallelism' | 'continuedFrom' | 'datasetPolicy' | 'earlyStopping' | 'halving' | 'warmStart'
  >
> &
  Pick<TrainAndRegisterRequest, 'reuseDataset' | 'parallelism' | 'continuedFrom' | 'datasetPolicy' | 'halving' | 'warmStart'> & {
    sweep: SweepSpec;
    earlyStopping?: { patience: number; validationFraction: number };
  };

export function resolveRequest(r: TrainAndRegisterRequest): ResolvedRequest {
  const d = DEFAULT_TRAINING;
  return {
    modelName: r.modelName,
    deployments: r.deployments ?? [],
    trigger: r.trigger ?? { kind: 'cli', by: 'unknown' },
    architecture: r.architecture ?? d.architecture,
    width: r.width ?? d.width,
    height: r.height ?? d.height,
    labelMaxMm: r.labelMaxMm ?? d.labelMaxMm,
    testFraction: r.testFraction ?? d.testFraction,
    seed: r.seed ?? d.seed,
    datasetPolicy: r.datasetPolicy,
    sweep: {
      epochs: r.sweep?.epochs ?? d.sweep.epochs,
      batchSizes: r.sweep?.batchSizes ?? d.sweep.batchSizes,
      dropouts: r.sweep?.dropouts ?? d.sweep.dropouts,
      learningRates: r.sweep?.learningRates ?? d.sweep.learningRates,
    },
    selectionMetric: r.selectionMetric ?? d.selectionMetric,
    registerPolicy: r.registerPolicy ?? d.registerPolicy,
    parallelism: r.parallelism,
    earlyStopping: r.earlyStopping && {
      patience: r.earlyStopping.patience,
      validationFraction: r.earlyStopping.validationFraction ?? DEFAULT_VALIDATION_FRACTION,
    },
    halving: r.halving,
    warmStart: r.warmStart,
    reuseDataset: r.reuseDataset,
    continuedFrom: r.continuedFrom,
  };
}

/** How many trials the sweep trains at once, and who decided. */
export interface SweepParallelism {
  value: number;
  /** `request`: the request said so; `training-worker`: the training worker's slots; `legacy-default`: runs recorded before the worker decided. */
  source: 'request' | 'training-worker' | 'legacy-default';
}

/** One retrain ask signalled to a run: who asked, and the deployments it wants in the dataset. */
export interface RetrainAsk {
  trigger: RetrainTrigger;
  deployments: string[];
  /**
   * Epoch ms the ask's evidence was observed (an alert's `startsAt`, the drift check's time, when the API recorded a
   * manual ask): a run whose dataset was assembled after it covers the ask, however late the ask arrives.
   */
  observedAt?: number;
}

/** Most asks one signal carries (the API signals a notification's asks for one model together). */
export const MAX_ASKS_PER_SIGNAL = 500;

/** The asks a run answered, as a summary of bounded size however many arrive (alert floods). */
export interface CoalescedRequests {
  count: number;
  byKind: Partial<Record<TriggerKind, number>>;
  first?: RequestRef;
  last?: RequestRef;
  /** Deployments the asks brought into the dataset beyond the run's own (at most MAX_SUMMARY_DEPLOYMENTS). */
  deploymentsAdded: string[];
  /** Asks the dataset does not cover (evidence observed after it was assembled): the run continues as new for them. */
  lateCount: number;
}
export type RequestRef = Pick<RetrainTrigger, 'kind' | 'by' | 'requestId'>;
export const MAX_SUMMARY_DEPLOYMENTS = 64;

/** Where a joined ask is covered: by this run's dataset, or by the run it continues as new into. */
export type AskCoverage = 'this-run' | 'follow-up-run';

/** The preprocessed dataset a run trains on (the preprocess step's result). */
export interface DatasetSummary {
  manifestKey: string;
  manifestSha256: string;
  trainCount: number;
  testCount: number;
  deployments: string[];
  recordCount: number;
}

/** The selection step's result: the best trial by the selection metric, and every trial's rank. */
export interface SelectBestResult {
  best: TrialSummary;
  ranking: { trialId: string; value: number | null }[];
}

/** The registration step's result: the new version, or why the policy registered none. */
export type RegisterResult =
  | { registered: true; version: number; artifactKey: string; artifactSha256: string; comparison: ModelVersion['comparison'] }
  | { registered: false; reason: string };

/** The registered version's reference profile (the profiling step's result). */
export interface ReferenceProfileSummary {
  key: string;
  sha256: string;
  frames: number;
  features: number;
  /** Mean of the version's absolute test errors, the baseline of performance drift. */
  testMaeMm: number;
}

/** A Rollout the new version started (or joined) on one deployment. */
export interface StartedRollout {
  deploymentId: string;
  workflowId: string;
  runId: string;
}

export interface TrainAndRegisterResult {
  /** What the run did in one line (runs recorded before it have none). */
  outcome?: string;
  registration: RegisterResult;
  selection: SelectBestResult;
  dataset: DatasetSummary;
  trials: TrialSummary[];
  /** The registered version's reference profile (none when nothing was registered, or in runs recorded before profiles). */
  referenceProfile?: ReferenceProfileSummary;
  /** The Rollouts the new version started (or joined), one per deployment that rolls the model out. */
  rollouts?: StartedRollout[];
  parallelism: SweepParallelism;
  /** Every ask signalled to this run, the one that started it included: alerts coalesce here. */
  requests: CoalescedRequests;
}

/** The workflow's signature: what a client starts it with (typed arguments without importing workflow code). */
export type TrainAndRegisterWorkflow = (input: TrainAndRegisterRequest) => Promise<TrainAndRegisterResult>;

/** An ask for this model: recorded in the running run (or starts one with signalWithStart) and coalesced. */
export const retrainRequestedSignal = defineSignal<[RetrainAsk | RetrainAsk[]]>('retrainRequested');

export interface TrainProgress {
  step: 'assembling' | 'preprocessing' | 'training' | 'selecting' | 'evaluating' | 'registering' | 'profiling' | 'rolling-out' | 'done';
  trialsDone: number;
  trialsTotal: number;
  /** Trials training at once, once the sweep has started. */
  parallelism?: number;
  coalescedRequests: number;
  /** The best finished trial so far by the selection metric. */
  best?: { trialId: string; metric: string; value: number };
}
export const progressQuery = defineQuery<TrainProgress>('progress');
/** How the run covers the ask with this registry request id; undefined until the run has seen it. */
export const askCoverageQuery = defineQuery<AskCoverage | undefined, [number]>('askCoverage');
/** `askCoverageQuery` for many requests at once: null for those the run has not seen (or no longer remembers). */
export const asksCoverageQuery = defineQuery<(AskCoverage | null)[], [number[]]>('asksCoverage');

/** What every start of TrainAndRegister carries, from the API or the CLI: findable by model and trigger, told apart in the UI. */
export function startAttributes(request: Pick<TrainAndRegisterRequest, 'modelName' | 'trigger'>, summary: string) {
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: MODEL_NAME_ATTRIBUTE, value: request.modelName },
    { key: TRIGGER_ATTRIBUTE, value: request.trigger.kind },
  ];
  return { typedSearchAttributes, memo: { trigger: request.trigger }, staticSummary: summary };
}
