// Worker-thread entry of the inference engine (inferenceEngine.ts). Plain JavaScript: worker threads on Node 20 do
// not inherit tsx's loader, so this file loads the TypeScript module through tsx.
import { tsImport } from 'tsx/esm/api';

const { serveInference } = await tsImport('./inferenceThread.ts', import.meta.url);
serveInference();
