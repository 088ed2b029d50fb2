import { ObjectNotFoundError, type ObjectStore } from '../stores/objects.js';
import { deleteModel, putModel, type SerializedModel } from './modelArtifact.js';

/** Where the newest whole checkpoint of a trial is, and how many epochs it holds. */
export interface CheckpointPointer {
  epochsDone: number;
  prefix: string;
}

/**
 * A trial's checkpoints in the object store. Each epoch's model goes under its own prefix and a
 * small pointer object moves to it only once both files are written, so a process killed
 * mid-write leaves the previous checkpoint whole, and the pointer (not the possibly throttled
 * heartbeat) says exactly which epoch the stored weights are at.
 */
export class TrialCheckpoints {
  private readonly pointerKey: string;
  private current: CheckpointPointer | undefined;

  constructor(
    private readonly objects: ObjectStore,
    private readonly trialPrefix: string,
  ) {
    this.pointerKey = `${trialPrefix}/checkpoint/latest.json`;
  }

  async latest(): Promise<CheckpointPointer | undefined> {
    try {
      this.current = JSON.parse((await this.objects.get(this.pointerKey)).toString('utf8')) as CheckpointPointer;
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    return this.current;
  }

  /** Call `latest()` first when resuming, so the checkpoint it replaces gets deleted. */
  async save(epochsDone: number, model: SerializedModel): Promise<CheckpointPointer> {
    const previous = this.current;
    const pointer = { epochsDone, prefix: `${this.trialPrefix}/checkpoint/epoch-${String(epochsDone).padStart(4, '0')}` };
    await putModel(this.objects, pointer.prefix, model);
    await this.objects.put(this.pointerKey, Buffer.from(JSON.stringify(pointer)), 'application/json');
    if (previous && previous.prefix !== pointer.prefix) await deleteModel(this.objects, previous.prefix);
    this.current = pointer;
    return pointer;
  }
}
