// Worker-thread entry of the image-analysis pool (imageAnalysisPool.ts). Plain JavaScript: worker
// threads on Node 20 do not inherit tsx's loader, so this file loads the TypeScript module through tsx.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const { lowerThreadPriority } = await tsImport('../threadPriority.ts', import.meta.url);
if (workerData?.nice) lowerThreadPriority(workerData.nice);

const { computeImageCharacteristics, characteristicsOfRgb } = await tsImport('./imageCharacteristics.ts', import.meta.url);

/** Errors travel back as data: a thrown error would lose its `code` crossing the thread boundary. */
async function analyseFrame({ image, pixels }) {
  try {
    if (pixels) return { characteristics: characteristicsOfRgb(pixels) };
    const jpeg = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    return { characteristics: await computeImageCharacteristics(jpeg) };
  } catch (err) {
    return { error: { message: err.message, code: err.code } };
  }
}

/** A task is the frames of one turn of the API's event loop; each answers for itself. */
export default function analyseFrames({ frames }) {
  return Promise.all(frames.map(analyseFrame));
}
