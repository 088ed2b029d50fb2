import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../core/ml/architectures.js';
import { loadBackend, type Tf } from '../../core/ml/backend.js';
import { decodeImage, InvalidImageError } from '../../core/ml/imagePixels.js';
import { compileJpegServing, type JpegServingPredictor } from '../../core/ml/jpegServing.js';
import { GRAPH_PREPROCESSING, type ModelMetadata } from '../../core/ml/modelArtifact.js';
import { pixelsToTensor } from '../../core/ml/train.js';
import { PRESET_IDS } from '../../edge/presets.js';

const FIXTURE_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'frames');
/** The recorded frames of every preset of the edge simulator (test/fixtures/frames/README.md). */
const recorded = fs
  .readdirSync(FIXTURE_DIR)
  .filter((name) => name.endsWith('.jpg'))
  .map((name) => ({ name, jpeg: fs.readFileSync(path.join(FIXTURE_DIR, name)) }));

let tf: Tf;
let cacheDir: string;

const metadataOf = (architecture: string, width: number, height: number): ModelMetadata => ({
  architecture,
  width,
  height,
  labelMaxMm: 350,
  backend: 'tensorflow',
  preprocessing: GRAPH_PREPROCESSING,
});

function randomizeBiases(model: LayersModel, seed: number) {
  for (const [i, layer] of model.layers.entries()) {
    const [kernel, bias] = layer.getWeights();
    if (bias) tf.tidy(() => layer.setWeights([kernel, tf.randomUniform(bias.shape, -0.1, 0.1, 'float32', seed + i)]));
  }
}

beforeAll(async () => {
  tf = (await loadBackend('tensorflow')).tf;
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jpeg-serving-test-'));
}, 60_000);

afterAll(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

describe('compileJpegServing', () => {
  it('has recorded frames of every preset', () => {
    for (const preset of PRESET_IDS) expect(recorded.filter((f) => f.name.startsWith(`${preset}-`)).length).toBeGreaterThan(0);
  });

  describe.each([
    { architecture: 'compact', width: 64, height: 48 },
    { architecture: 'thesis-inception', width: 100, height: 75 },
  ])('$architecture at $width x $height', ({ architecture, width, height }) => {
    let model: LayersModel;
    let predictor: JpegServingPredictor;

    beforeAll(async () => {
      model = buildModel(tf, architecture, { width, height, dropout: 0.2, learningRate: 1e-3, seed: 3 });
      randomizeBiases(model, 7);
      predictor = await compileJpegServing(tf, model, metadataOf(architecture, width, height), { cacheDir });
    }, 120_000);

    afterAll(() => {
      predictor.dispose();
      model.dispose();
    });

    it("decodes every recorded frame to decodeImage's bytes, and predicts as the layers model on its own model input", async () => {
      for (let start = 0; start < recorded.length; start += 8) {
        const batch = recorded.slice(start, start + 8);
        const jpegs = batch.map((f) => f.jpeg);
        const { units, rgb } = predictor.predictJpegs(jpegs);
        expect(units).toHaveLength(batch.length);
        for (const [i, frame] of batch.entries()) {
          const expected = await decodeImage(frame.jpeg);
          expect([frame.name, rgb[i].width, rgb[i].height]).toEqual([frame.name, expected.width, expected.height]);
          expect(Buffer.from(rgb[i].data).equals(Buffer.from(expected.data)), frame.name).toBe(true);
        }
        const input = await predictor.modelInput(jpegs);
        const x = pixelsToTensor(tf, input, batch.length, height, width);
        const expected = model.predict(x) as Tensor;
        const layers = expected.dataSync();
        const worst = Math.max(...Array.from(units, (u, i) => Math.abs(u - layers[i])));
        expect(worst).toBeLessThanOrEqual(1e-5);
        // A graph that ignored its input would give every frame the same output.
        expect(new Set(units).size).toBeGreaterThan(1);
        tf.dispose([x, expected]);
      }
    });

    it('answers a batch of any size up to the largest shape as its frames one by one, frames of different sizes together', async () => {
      const wide = await sharp(recorded[0].jpeg).resize(320, 240).jpeg({ quality: 90 }).toBuffer();
      const jpegs = [...recorded.slice(0, 12).map((f) => f.jpeg), wide];
      const together = predictor.predictJpegs(jpegs);
      expect(together.rgb.at(-1)).toMatchObject({ width: 320, height: 240 });
      for (const [i, jpeg] of jpegs.entries()) {
        const alone = predictor.predictJpegs([jpeg]);
        // Kernels block a batch of 16 otherwise than one frame: float rounding, no more.
        expect(Math.abs(alone.units[0] - together.units[i])).toBeLessThanOrEqual(1e-6);
        expect(Buffer.from(alone.rgb[0].data).equals(Buffer.from(together.rgb[i].data))).toBe(true);
      }
      expect(() => predictor.predictJpegs(Array(17).fill(recorded[0].jpeg))).toThrow(RangeError);
      expect(predictor.predictJpegs([])).toEqual({ units: new Float32Array(0), rgb: [] });
    });
  });

  it("decodes by TensorFlow's policy: refuses what libjpeg fails on, as sharp does, and decodes what it only warns about", async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 4 });
    const predictor = await compileJpegServing(tf, model, metadataOf('compact', 64, 48), { cacheDir });
    const noise = Buffer.from(Array.from({ length: 320 * 240 * 3 }, (_, i) => (i * 7919) % 251));
    const EOI = Buffer.from([0xff, 0xd9]);
    const outcomes: Record<string, { sharp: string; graph: string }> = {};
    const outcome = async (name: string, frame: Buffer) => {
      const bySharp = await decodeImage(frame).then(
        () => 'decoded',
        (err: { code?: string }) => String(err.code),
      );
      let byGraph = 'decoded';
      try {
        predictor.predictJpegs([frame]);
      } catch (err) {
        byGraph = String((err as { code?: string }).code);
      }
      outcomes[name] = { sharp: bySharp, graph: byGraph };
    };
    for (const progressive of [false, true]) {
      const kind = progressive ? 'progressive' : 'baseline';
      const full = await sharp(noise, { raw: { width: 320, height: 240, channels: 3 } })
        .jpeg({ quality: 80, progressive })
        .toBuffer();
      await outcome(`${kind} whole`, full);
      await outcome(`${kind} with bytes after its end`, Buffer.concat([full, Buffer.from('trailing bytes')]));
      const cut = full.subarray(0, Math.floor(full.length * 0.9));
      await outcome(`${kind} cut`, cut);
      await outcome(`${kind} cut and closed`, Buffer.concat([cut, EOI]));
      const garbled = Buffer.from(full);
      for (let j = 0; j < 64; j++) garbled[Math.floor(full.length * 0.3) + j] = (j * 37) & 0x7f;
      await outcome(`${kind} garbled`, garbled);
    }
    await outcome('text', Buffer.from('not an image at all'));
    await outcome('empty', Buffer.alloc(0));
    const refused = { sharp: 'invalid_image', graph: 'invalid_image' };
    const warnedOnly = { sharp: 'invalid_image', graph: 'decoded' };
    expect(outcomes).toEqual({
      'baseline whole': { sharp: 'decoded', graph: 'decoded' },
      'baseline with bytes after its end': { sharp: 'decoded', graph: 'decoded' },
      'baseline cut': refused,
      'baseline cut and closed': warnedOnly,
      // Bytes that still decode as Huffman codes: no decoder can tell.
      'baseline garbled': { sharp: 'decoded', graph: 'decoded' },
      'progressive whole': { sharp: 'decoded', graph: 'decoded' },
      'progressive with bytes after its end': { sharp: 'decoded', graph: 'decoded' },
      'progressive cut': refused,
      'progressive cut and closed': warnedOnly,
      'progressive garbled': warnedOnly,
      text: refused,
      empty: refused,
    });
    // A frame that fails fails its whole batch: the caller finds it frame by frame.
    expect(() => predictor.predictJpegs([recorded[0].jpeg, Buffer.from('x')])).toThrow(InvalidImageError);
    expect(predictor.predictJpegs([recorded[0].jpeg]).units).toHaveLength(1);
    predictor.dispose();
    model.dispose();
  });

  it("refuses a model trained on sharp's pixels, and leaves no session or tensor behind once disposed", async () => {
    const model = buildModel(tf, 'compact', { width: 64, height: 48, dropout: 0.1, learningRate: 1e-3, seed: 4 });
    const { preprocessing: _, ...sharpMetadata } = metadataOf('compact', 64, 48);
    await expect(compileJpegServing(tf, model, sharpMetadata, { cacheDir })).rejects.toMatchObject({ code: 'unsupported_model' });
    const node = (tf as unknown as { node: { getNumOfSavedModels(): number } }).node;
    const sessions = node.getNumOfSavedModels();
    const tensors = tf.memory().numTensors;
    const predictor = await compileJpegServing(tf, model, metadataOf('compact', 64, 48), { cacheDir });
    for (let i = 0; i < 3; i++) predictor.predictJpegs([recorded[0].jpeg, recorded[1].jpeg, recorded[2].jpeg]);
    predictor.dispose();
    expect(node.getNumOfSavedModels()).toBe(sessions);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(() => predictor.predictJpegs([recorded[0].jpeg])).toThrow(/disposed/);
    model.dispose();
  });
});
