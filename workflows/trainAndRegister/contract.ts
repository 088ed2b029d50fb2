/**
 * The TrainAndRegister contract, shared by the workflow, the workers, the API and the scripts:
 * input and defaults, result, task queues, workflow ids, signals, queries and search attributes.
 * Deterministic code only (the workflow bundle imports it).
 */
import type { DriftKind } from '../../core/drift/driftReport.js';
import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DatasetSummary } from '../../activities/preprocess.js';
import type { RegisterResult } from '../../activities/registerModelVersion.js';
import type { ReferenceProfileSummary } from '../../activities/buildReferenceProfile.js';
import type { SelectBestResult } from '../../activities/selectBest.js';
import type { StartedRollout } from '../../activities/startRollouts.js';
import type { SweepSpec, TrialSummary } from '../../core/training/sweep.js';
import type { DatasetPolicy } from '../../core/ml/datasetPolicy.js';

/** Task queues: light orchestration steps (and the workflow), and CPU-heavy ML steps (scaled separately). */
export const TASK_QUEUES = { orchestration: 'orchestration', training: 'training' } as const;

/** One id per model: a second ask while a run is going joins it instead of starting another. */
export const trainWorkflowIdFor = (modelName: string) => `train-and-register-${modelName}`;
/** Reruns of the experiment step are runs of their own. */
export const rerunWorkflowIdFor = (modelName: string, fromVersion: number, at: number) => `rerun-${modelName}-v${fromVersion}-${at}`;

/** Who asks for a retrain. */
export const TRIGGER_KINDS = ['grafana', 'manual', 'cli', 'drift-monitor'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export interface RetrainTrigger {
  kind: TriggerKind;
  /** Who or what asked: alert rule name, user, command. */
  by: string;
  /** The registry's retrain_requests row id, when the API recorded one. */
  requestId?: number;
  alerts?: { status: string; labels: Record<string, string>; startsAt?: string; fingerprint?: string }[];
  /** What the drift monitor found when it asked; the retrain request's record keeps the whole report. */
  drift?: DriftEvidence;
}

export interface DriftEvidence {
  deployment: string;
  /** The serving version the window was compared with. */
  modelVersion: number;
  kinds: DriftKind[];
  summary: string;
  windowFrames: number;
  /** Epoch ms of the check. */
  checkedAt: number;
}

export type RegisterPolicy = 'always' | 'if-better';

export interface TrainAndRegisterRequest {
  modelName: string;
  /** Deployments whose labelled records form the dataset. Ignored when reusing a dataset. */
  deployments: string[];
  trigger: RetrainTrigger;
  architecture?: string;
  width?: number;
  height?: number;
  labelMaxMm?: number;
  testFraction?: number;
  seed?: number;
  /** Which labelled records the dataset keeps (default: all): bounds training time as the history grows. */
  datasetPolicy?: DatasetPolicy;
  sweep?: Partial<SweepSpec>;
  /** The metric that picks the best trial; lower is better. */
  selectionMetric?: string;
  registerPolicy?: RegisterPolicy;
  /** Most trials training at once; unset, the training worker's slots (derived from its cores) decide. */
  parallelism?: number;
  /** Rerun only the experiment step on the preprocessed dataset of an earlier run. */
  reuseDataset?: { manifestKey: string };
  /** Asks that joined the run this one continues, after that run had assembled its dataset. */
  continuedFrom?: CoalescedRequests;
}

export const DEFAULT_TRAINING = {
  architecture: 'compact',
  width: 40,
  height: 30,
  labelMaxMm: 350,
  testFraction: 0.2,
  seed: 42,
  sweep: { epochs: [12], batchSizes: [32, 64], dropouts: [0.1, 0.2], learningRates: [0.001] } satisfies SweepSpec,
  selectionMetric: 'test_mae_mm',
  registerPolicy: 'if-better' as RegisterPolicy,
};

export type ResolvedRequest = Required<
  Omit<TrainAndRegisterRequest, 'reuseDataset' | 'sweep' | 'parallelism' | 'continuedFrom' | 'datasetPolicy'>
> &
  Pick<TrainAndRegisterRequest, 'reuseDataset' | 'parallelism' | 'continuedFrom' | 'datasetPolicy'> & { sweep: SweepSpec };

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

export interface TrainAndRegisterResult {
  dataset: DatasetSummary;
  trials: TrialSummary[];
  selection: SelectBestResult;
  registration: RegisterResult;
  /** The registered version's reference profile (none when nothing was registered, or in runs recorded before profiles). */
  referenceProfile?: ReferenceProfileSummary;
  /** The Rollouts the new version started (or joined), one per deployment that rolls the model out. */
  rollouts?: StartedRollout[];
  parallelism: SweepParallelism;
  /** Every ask signalled to this run, the one that started it included: alerts coalesce here. */
  requests: CoalescedRequests;
}

/** An ask for this model: recorded in the running run (or starts one with signalWithStart) and coalesced. */
export const retrainRequestedSignal = defineSignal<[RetrainAsk | RetrainAsk[]]>('retrainRequested');

export interface TrainProgress {
  step: 'assembling' | 'preprocessing' | 'training' | 'selecting' | 'evaluating' | 'registering' | 'profiling' | 'rolling-out' | 'done';
  trialsDone: number;
  trialsTotal: number;
  /** Trials training at once, once the sweep has started. */
  parallelism?: number;
  coalescedRequests: number;
}
export const progressQuery = defineQuery<TrainProgress>('progress');
/** How the run covers the ask with this registry request id; undefined until the run has seen it. */
export const askCoverageQuery = defineQuery<AskCoverage | undefined, [number]>('askCoverage');
/** `askCoverageQuery` for many requests at once: null for those the run has not seen (or no longer remembers). */
export const asksCoverageQuery = defineQuery<(AskCoverage | null)[], [number[]]>('asksCoverage');

export const MODEL_NAME_ATTRIBUTE = defineSearchAttributeKey('ModelName', 'KEYWORD');
export const TRIGGER_ATTRIBUTE = defineSearchAttributeKey('RetrainTrigger', 'KEYWORD');

/** What every start of TrainAndRegister carries, from the API or the CLI: findable by model and trigger, told apart in the UI. */
export function startAttributes(request: Pick<TrainAndRegisterRequest, 'modelName' | 'trigger'>, summary: string) {
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: MODEL_NAME_ATTRIBUTE, value: request.modelName },
    { key: TRIGGER_ATTRIBUTE, value: request.trigger.kind },
  ];
  return { typedSearchAttributes, memo: { trigger: request.trigger }, staticSummary: summary };
}
