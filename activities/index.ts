import { askForDriftRetrain } from './askForDriftRetrain.js';
import { assembleDataset } from './assembleDataset.js';
import { checkDeploymentDrift } from './checkDeploymentDrift.js';
import { checkSensorHealth } from './checkSensorHealth.js';
import { monitoredDeployments } from './monitoredDeployments.js';
import { buildReferenceProfile } from './buildReferenceProfile.js';
import type { ActivityContext } from './context.js';
import { evaluatePrevious } from './evaluatePrevious.js';
import { describeDataset, preprocess } from './preprocess.js';
import { recordRunRequest } from './recordRunRequest.js';
import { registerModelVersion } from './registerModelVersion.js';
import { checkRolloutStage, enterRolloutStage, finishRollout, planRollout } from './rolloutSteps.js';
import { selectBest } from './selectBest.js';
import { startRollouts } from './startRollouts.js';
import { describeTrainingCapacity, trainTrial } from './trainTrial.js';

/** Light, I/O-bound steps: run on the orchestration task queue. */
export const createOrchestrationActivities = (ctx: ActivityContext) => ({
  assembleDataset: assembleDataset(ctx),
  describeDataset: describeDataset(ctx),
  recordRunRequest: recordRunRequest(ctx),
  selectBest: selectBest(),
  registerModelVersion: registerModelVersion(ctx),
  startRollouts: startRollouts(ctx),
});

/** The Rollout workflow's steps: registry and measurement reads and writes, on the orchestration task queue. */
export const createRolloutActivities = (ctx: ActivityContext) => ({
  planRollout: planRollout(ctx),
  enterRolloutStage: enterRolloutStage(ctx),
  checkRolloutStage: checkRolloutStage(ctx),
  finishRollout: finishRollout(ctx),
});

/** The drift monitor's steps: light reads and one ask, on the orchestration task queue. */
export const createMonitorActivities = (ctx: ActivityContext) => ({
  monitoredDeployments: monitoredDeployments(ctx),
  checkDeploymentDrift: checkDeploymentDrift(ctx),
  askForDriftRetrain: askForDriftRetrain(ctx),
  checkSensorHealth: checkSensorHealth(ctx),
});

/** CPU-heavy steps: run on the training task queue, each ML job in its own child process. */
export const createTrainingActivities = (ctx: ActivityContext) => ({
  preprocess: preprocess(ctx),
  trainTrial: trainTrial(ctx),
  describeTrainingCapacity: describeTrainingCapacity(ctx),
  evaluatePrevious: evaluatePrevious(ctx),
  buildReferenceProfile: buildReferenceProfile(ctx),
});

export type OrchestrationActivities = ReturnType<typeof createOrchestrationActivities>;
export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
export type TrainingActivities = ReturnType<typeof createTrainingActivities>;
export type { ActivityContext };
