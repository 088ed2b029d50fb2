export { TrainAndRegister } from './trainAndRegister/workflow.js';
