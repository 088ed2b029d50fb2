// Worker-thread entry of the JPEG preprocessing pool (jpegPixelsPool.ts). Plain JavaScript: worker threads on Node 20
// do not inherit tsx's loader, so this file loads the TypeScript module through tsx.
import { Piscina } from 'piscina';
import { tsImport } from 'tsx/esm/api';

const { jpegPixelsInThread } = await tsImport('./jpegPixels.ts', import.meta.url);

/** The frames' bytes are moved to the caller's thread, not copied: the event loop there never deserialises them. */
export default async function jpegPixels(task) {
  const answer = await jpegPixelsInThread(task);
  return Piscina.move({
    get [Piscina.transferableSymbol]() {
      return [answer.pixels.buffer];
    },
    get [Piscina.valueSymbol]() {
      return answer;
    },
  });
}
