export { TrainAndRegister } from './trainAndRegister/workflow.js';
export { CheckDrift } from './checkDrift/workflow.js';
