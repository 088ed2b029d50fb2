import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderFrame } from '../../edge/camera.js';
import { PRESET_IDS, PRESETS, getPreset } from '../../edge/presets.js';
import { createRng } from '../../core/random.js';

async function decode(jpeg: Buffer) {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Mean HSV saturation over the whole frame, OpenCV scale (S = 255 * (max - min) / max). */
function meanSaturation(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 3) {
    const max = Math.max(data[i], data[i + 1], data[i + 2]);
    const min = Math.min(data[i], data[i + 1], data[i + 2]);
    sum += max === 0 ? 0 : (255 * (max - min)) / max;
  }
  return sum / (data.length / 3);
}

/**
 * Row of the floor line in the centre columns: the split of the column into a top (wall) and a
 * bottom (floor) segment with the least colour variance within the segments (change-point).
 */
function floorLineRow(data: Buffer, width: number, height: number): number {
  const rows: number[][] = [];
  for (let y = 0; y < height; y++) {
    const acc = [0, 0, 0];
    for (let x = width / 2 - 8; x < width / 2 + 8; x++) for (let c = 0; c < 3; c++) acc[c] += data[(y * width + x) * 3 + c] / 16;
    rows.push(acc);
  }
  const sse = (from: number, to: number) => {
    let cost = 0;
    for (let c = 0; c < 3; c++) {
      const seg = rows.slice(from, to).map((r) => r[c]);
      const mean = seg.reduce((a, b) => a + b, 0) / seg.length;
      cost += seg.reduce((a, b) => a + (b - mean) ** 2, 0);
    }
    return cost;
  };
  let best = -1;
  let bestCost = Infinity;
  for (let k = 2; k < height - 2; k++) {
    const cost = sse(0, k) + sse(k, height);
    if (cost < bestCost) [best, bestCost] = [k, cost];
  }
  return best;
}

describe('camera simulator', () => {
  it('renders a 160x120 JPEG, deterministic for a seed', async () => {
    const scene = PRESETS['beige-250'].scene;
    const a = await renderFrame(scene, { distanceMm: 100, angleDeg: 0 }, createRng(7));
    const b = await renderFrame(scene, { distanceMm: 100, angleDeg: 0 }, createRng(7));
    const c = await renderFrame(scene, { distanceMm: 100, angleDeg: 0 }, createRng(8));
    expect(a.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const img = await decode(a);
    expect([img.width, img.height, img.channels]).toEqual([160, 120, 3]);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('has a preset for every thesis phase and the unseen floor', () => {
    expect([...PRESET_IDS]).toEqual(['beige-250', 'beige-350', 'green-350', 'green-angled-350', 'red-350', 'checker-350']);
    expect(PRESETS['checker-350'].phase).toBe(6);
    expect(PRESETS['beige-250'].maxStartMm).toBe(250);
    expect(PRESETS['green-angled-350'].maxAngleDeg).toBe(30);
    expect(PRESETS['red-350'].maxAngleDeg).toBe(0);
    expect(() => getPreset('blue')).toThrow(/beige-250, beige-350, green-350, green-angled-350, red-350, checker-350/);
  });

  // Thesis: the saturation alert band was 40..60 on beige; it jumped from 45 to 156 on red.
  const bands: Record<string, [number, number]> = {
    'beige-250': [40, 60],
    'beige-350': [40, 60],
    'green-350': [100, 255],
    'green-angled-350': [100, 255],
    'red-350': [100, 255],
    'checker-350': [40, 60],
  };
  for (const id of PRESET_IDS) {
    it(`keeps ${id} frames in the HSV saturation band ${bands[id].join('..')}`, async () => {
      const preset = PRESETS[id];
      const rng = createRng(3);
      const sats: number[] = [];
      for (let d = 0; d <= 350; d += 50) {
        const angleDeg = rng.uniform(-1, 1) * preset.maxAngleDeg;
        sats.push(meanSaturation((await decode(await renderFrame(preset.scene, { distanceMm: d, angleDeg }, rng))).data));
      }
      for (const s of sats) {
        expect(s).toBeGreaterThanOrEqual(bands[id][0]);
        expect(s).toBeLessThanOrEqual(bands[id][1]);
      }
    });
  }

  for (const id of ['beige-350', 'green-350', 'red-350'] as const) {
    it(`moves the ${id} floor line up the frame as the wall gets farther`, async () => {
      const rows: number[] = [];
      for (let d = 0; d <= 350; d += 50) {
        const img = await decode(await renderFrame(PRESETS[id].scene, { distanceMm: d, angleDeg: 0, lateralMm: 0 }, createRng(d)));
        rows.push(floorLineRow(img.data, img.width, img.height));
      }
      for (let i = 1; i < rows.length; i++) expect(rows[i], `rows ${rows.join(',')}`).toBeLessThan(rows[i - 1]);
      // At 0 mm the wall fills most of the frame; at 350 mm the floor takes most of it.
      expect(rows[0]).toBeGreaterThan(0.6 * 120);
      expect(rows[rows.length - 1]).toBeLessThan(0.4 * 120);
    });
  }

  it('turns the floor/wall edge around: beige floor lighter than the wall, green and red darker', async () => {
    const luma = (data: Buffer, width: number, y0: number, y1: number) => {
      let sum = 0;
      for (let y = y0; y < y1; y++)
        for (let x = 40; x < 120; x++) {
          const i = (y * width + x) * 3;
          sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        }
      return sum / ((y1 - y0) * 80);
    };
    const contrast = async (id: 'beige-350' | 'green-350' | 'red-350') => {
      const img = await decode(await renderFrame(PRESETS[id].scene, { distanceMm: 250, angleDeg: 0 }, createRng(1)));
      return luma(img.data, img.width, 60, 95) - luma(img.data, img.width, 5, 25); // floor minus wall
    };
    expect(await contrast('beige-350')).toBeGreaterThan(5);
    expect(await contrast('green-350')).toBeLessThan(-30);
    expect(await contrast('red-350')).toBeLessThan(-20);
  });
});
