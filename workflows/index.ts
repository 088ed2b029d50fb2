export { TrainAndRegister } from './trainAndRegister/workflow.js';
export { CheckDrift } from './checkDrift/workflow.js';
export { Rollout } from './rollout/workflow.js';
