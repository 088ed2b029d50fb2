import type { Client } from '@temporalio/client';
import type { BackendPreference } from '../core/ml/backend.js';
import type { TrainingCapacity } from '../core/ml/trainingCapacity.js';
import type { Stores } from '../core/stores/index.js';

/** What activities are built from: the stores, and what a training child process needs to reach them. */
export interface ActivityContext {
  stores: Stores;
  objectsUrl: string;
  mlBackend: BackendPreference;
  /** Train in a TensorFlow graph where possible (unset: yes); false trains with tfjs's fit. */
  trainGraph?: boolean;
  /** The training worker's slots and threads per trial (training activities only). */
  capacity?: TrainingCapacity;
  /** The drift monitor asks for retrains as the API does (signalWithStart): a client, and the Web UI for links. */
  temporal?: { client: () => Promise<Client>; ui: { url: string; namespace: string } };
}
