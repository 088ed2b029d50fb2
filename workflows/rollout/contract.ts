/**
 * The Rollout contract: one workflow per deployment judges a newly registered version (the candidate) against
 * the version the deployment serves (the current one) on the laser, and promotes it or rolls it back.
 * Deterministic code only (the workflow bundle imports it).
 */
import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PairedComparison } from '../../core/rollout/pairedTest.js';
import type { StageVerdict } from '../../core/rollout/stageVerdict.js';
import type { RolloutStage } from '../../core/stores/registry.js';
import { MODEL_NAME_ATTRIBUTE } from '../shared.js';

/** One id per deployment: two rollouts of one deployment cannot run at once; a newer candidate joins the running one. */
export const rolloutWorkflowIdFor = (deploymentId: string) => `rollout-${deploymentId}`;

export interface RolloutInput {
  deploymentId: string;
  modelName: string;
  candidateVersion: number;
  /** Set when a long stage continues as new: where it was. */
  resume?: { stage: RolloutStage; stageStartedAt: number; checks: StageCheck[]; candidateRovers?: number };
}

/** One look at a stage's evidence, and what the stage did with it. */
export interface StageCheck {
  stage: RolloutStage;
  /** Epoch ms of the look. */
  at: number;
  /** Frames in the stage so far answered by either version, and by the candidate. */
  frames: number;
  answeredByCandidate: number;
  comparison: PairedComparison;
  verdict: StageVerdict;
  reason: string;
  /** The comparison on the pairs whose laser reading is in the stop band (<= 100 mm); absent in looks taken before it was judged. */
  stopBand?: PairedComparison;
  /** In a stage where the candidate answers rovers (canary, ab, bandit): its share of the rovers at this look. */
  candidateShare?: number;
}

export type RolloutOutcome = 'promoted' | 'rolled-back' | 'aborted' | 'superseded' | 'not-started';

export interface RolloutResult {
  deploymentId: string;
  modelName: string;
  candidateVersion: number;
  currentVersion: number | null;
  outcome: RolloutOutcome;
  reason: string;
  /** The last look at each stage it went through: the evidence of the decision. */
  stages: StageCheck[];
}

/** The workflow's signature: what a client starts it with (typed arguments without importing workflow code). */
export type RolloutWorkflow = (input: RolloutInput) => Promise<RolloutResult>;

export interface RolloutStatus {
  candidateVersion: number;
  currentVersion: number | null;
  stage: RolloutStage | 'starting' | 'done';
  paused: boolean;
  /** Epoch ms the stage began. */
  stageStartedAt: number | null;
  lastCheck: StageCheck | null;
  /** Every look of this run so far, oldest first (a run continued as new starts a new list). */
  checks: StageCheck[];
}

/** Who tells a rollout what to do, and why. */
export interface Instruction {
  by: string;
  reason?: string;
}

/** Promote the candidate now, whatever the evidence so far. */
export const promoteSignal = defineSignal<[Instruction]>('promote');
/** Roll the candidate back now. */
export const abortSignal = defineSignal<[Instruction]>('abort');
/** Stop deciding (the stage keeps serving as it does) until resumed. */
export const pauseSignal = defineSignal<[Instruction]>('pause');
export const resumeSignal = defineSignal<[Instruction]>('resume');
/** A newer version was registered while this rollout runs: it replaces the candidate (signalWithStart). */
export const candidateRegisteredSignal = defineSignal<[{ candidateVersion: number }]>('candidateRegistered');

export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

/** Findable by model in the Web UI and the CLI, with the candidate in the summary. */
export function rolloutStartAttributes(input: RolloutInput) {
  const typedSearchAttributes: SearchAttributePair[] = [{ key: MODEL_NAME_ATTRIBUTE, value: input.modelName }];
  return { typedSearchAttributes, staticSummary: `rollout of ${input.modelName} v${input.candidateVersion} on ${input.deploymentId}` };
}
