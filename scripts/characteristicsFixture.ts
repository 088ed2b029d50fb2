/**
 * Writes test/fixtures/frames/characteristics.json: the image characteristics of the fixture
 * frames as computeImageCharacteristics gives them, which test/unit/characteristicsPinned.test.ts
 * requires of every later version of the code (the drift references depend on these values).
 *
 *   npx tsx scripts/characteristicsFixture.ts            # values of the committed frames
 *   npx tsx scripts/characteristicsFixture.ts --render   # render the frames anew first
 *
 * --render takes three frames of one parking run per preset of the edge simulator (the start, the
 * middle and the stop, so far and near walls) as the camera's JPEGs, and lossless PNG crops of one
 * frame at the sizes where the analysis meets its borders (tiny, narrow, flat).
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { computeImageCharacteristics } from '../core/features/imageCharacteristics.js';
import { runParking, type EdgeFrame } from '../edge/parkingRun.js';
import { PRESET_IDS } from '../edge/presets.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'test', 'fixtures', 'frames');
const VALUES_FILE = path.join(FIXTURE_DIR, 'characteristics.json');
const SEED = 11;
const CROPS: ReadonlyArray<{ width: number; height: number; left: number; top: number }> = [
  { width: 1, height: 1, left: 80, top: 60 },
  { width: 2, height: 3, left: 80, top: 60 },
  { width: 5, height: 40, left: 10, top: 30 },
  { width: 6, height: 6, left: 70, top: 50 },
  { width: 7, height: 7, left: 70, top: 50 },
  { width: 9, height: 120, left: 75, top: 0 },
  { width: 160, height: 2, left: 0, top: 100 },
  { width: 160, height: 7, left: 0, top: 60 },
  { width: 33, height: 17, left: 101, top: 71 },
];

async function renderFrames(): Promise<void> {
  for (const file of fs.readdirSync(FIXTURE_DIR)) {
    if (/\.(jpg|png)$/.test(file)) fs.rmSync(path.join(FIXTURE_DIR, file));
  }
  for (const preset of PRESET_IDS) {
    const frames: EdgeFrame[] = [];
    await runParking({
      preset,
      seed: SEED,
      send: async (frame) => {
        frames.push(frame);
        return { ok: true, predictionMm: frame.sensorMm ?? frame.trueMm };
      },
    });
    for (const index of [0, Math.floor(frames.length / 2), frames.length - 1]) {
      const frame = frames[index];
      fs.writeFileSync(path.join(FIXTURE_DIR, `${preset}-${String(frame.index).padStart(3, '0')}.jpg`), frame.jpeg);
    }
    if (preset === 'checker-350') {
      const source = frames[Math.floor(frames.length / 2)].jpeg;
      for (const crop of CROPS) {
        const png = await sharp(source).extract(crop).png().toBuffer();
        fs.writeFileSync(path.join(FIXTURE_DIR, `${preset}-crop-${crop.width}x${crop.height}.png`), png);
      }
    }
  }
}

if (process.argv.includes('--render')) await renderFrames();
const values: Record<string, unknown> = {};
for (const file of fs.readdirSync(FIXTURE_DIR).sort()) {
  if (!/\.(jpg|png)$/.test(file)) continue;
  values[file] = await computeImageCharacteristics(fs.readFileSync(path.join(FIXTURE_DIR, file)));
}
fs.writeFileSync(VALUES_FILE, JSON.stringify(values, null, 2) + '\n');
console.log(`${Object.keys(values).length} frames -> ${path.relative(process.cwd(), VALUES_FILE)}`);
