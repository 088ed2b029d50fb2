// Worker-thread entry of the JPEG preprocessing pool (jpegPixelsPool.ts). Plain JavaScript: worker threads on Node 20
// do not inherit tsx's loader, so this file loads the TypeScript module through tsx.
import { tsImport } from 'tsx/esm/api';

const { jpegPixelsInThread } = await tsImport('./jpegPixels.ts', import.meta.url);

export default jpegPixelsInThread;
