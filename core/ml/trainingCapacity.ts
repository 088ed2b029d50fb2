import os from 'node:os';

/** How a training worker shares its machine: trials at once, and TensorFlow intra-op threads per trial. */
export interface TrainingCapacity {
  cores: number;
  /** Trials this worker trains at once (its activity slots). */
  slots: number;
  threadsPerTrial: number;
  /** `cores`: derived from the cores available; `SWEEP_PARALLELISM`: set by the operator. */
  source: 'cores' | 'SWEEP_PARALLELISM';
}

export interface TrainingCapacityOptions {
  /** Defaults to the cores this process may use. */
  cores?: number;
  /** SWEEP_PARALLELISM: trials at once, whatever the cores. */
  sweepParallelism?: number;
  /** ML_THREADS_PER_TRIAL; by default 1 when slots come from the cores, else the cores shared among the slots. */
  threadsPerTrial?: number;
}

/**
 * Slots = floor(cores / threads per trial), so the trials training in parallel together use
 * every core without oversubscribing it. Small CNNs on small batches scale better across
 * trials than across threads of one trial, hence one thread per trial by default.
 */
export function trainingCapacity(options: TrainingCapacityOptions = {}): TrainingCapacity {
  const cores = Math.max(1, options.cores ?? os.availableParallelism());
  if (options.sweepParallelism !== undefined) {
    const slots = Math.max(1, options.sweepParallelism);
    return {
      cores,
      slots,
      threadsPerTrial: options.threadsPerTrial ?? Math.max(1, Math.floor(cores / slots)),
      source: 'SWEEP_PARALLELISM',
    };
  }
  const threadsPerTrial = Math.max(1, options.threadsPerTrial ?? 1);
  return { cores, slots: Math.max(1, Math.floor(cores / threadsPerTrial)), threadsPerTrial, source: 'cores' };
}
