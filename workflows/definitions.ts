import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RetrainTriggerInfo } from '../core/training/request.js';

/** An alert or manual request that arrived for this model; recorded and coalesced into the running workflow. */
export const retrainRequestedSignal = defineSignal<[RetrainTriggerInfo]>('retrainRequested');

export interface TrainProgress {
  step: 'assembling' | 'preprocessing' | 'training' | 'selecting' | 'evaluating' | 'registering' | 'done';
  trialsDone: number;
  trialsTotal: number;
  /** Trials training at once, once the sweep has started. */
  parallelism?: number;
  coalescedRequests: number;
}
export const progressQuery = defineQuery<TrainProgress>('progress');

export const MODEL_NAME_ATTRIBUTE = defineSearchAttributeKey('ModelName', 'KEYWORD');
export const TRIGGER_ATTRIBUTE = defineSearchAttributeKey('RetrainTrigger', 'KEYWORD');
