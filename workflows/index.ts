export { TrainAndRegister } from './trainAndRegister.js';
