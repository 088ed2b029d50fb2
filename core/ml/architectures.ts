import type { Tf } from './backend.js';

export interface ArchitectureOptions {
  width: number;
  height: number;
  dropout: number;
  learningRate: number;
  /** Seeds the weight initialisers (fit's batch shuffling in tfjs cannot be seeded). */
  seed?: number;
}

/** A fresh Glorot initialiser per layer, each with its own seed derived from the trial's. */
function seededInitializers(tf: Tf, seed: number | undefined) {
  let layer = 0;
  return () => (seed === undefined ? 'glorotUniform' : tf.initializers.glorotUniform({ seed: seed * 1000 + layer++ }));
}

type LayersModel = import('@tensorflow/tfjs').LayersModel;

/** A small CNN that trains in minutes on pure JS: the default for demos and tests. */
function compact(tf: Tf, o: ArchitectureOptions): LayersModel {
  const init = seededInitializers(tf, o.seed);
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [o.height, o.width, 3],
      filters: 16,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(),
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init() }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dropout({ rate: o.dropout }));
  model.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init() }));
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init() }));
  return model;
}

/** The thesis model: inception-style blocks, sigmoid output, about 2 M parameters at 100x75. */
function thesisInception(tf: Tf, o: ArchitectureOptions): LayersModel {
  const init = seededInitializers(tf, o.seed);
  const input = tf.input({ shape: [o.height, o.width, 3] });
  const conv = (x: any, filters: number, kernelSize: number, strides = 1) =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', activation: 'relu', kernelInitializer: init() }).apply(x);
  const inception = (x: any, f1: number, f3: number, f5: number, fp: number) => {
    const b1 = conv(x, f1, 1);
    const b3 = conv(conv(x, f3 / 2, 1), f3, 3);
    const b5 = conv(conv(x, f5 / 2, 1), f5, 5);
    const bp = conv(tf.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x), fp, 1);
    return tf.layers.concatenate().apply([b1, b3, b5, bp] as any);
  };
  let x: any = conv(input, 32, 3, 2);
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
  x = inception(x, 16, 32, 8, 8);
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
  x = inception(x, 32, 64, 16, 16);
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x);
  x = tf.layers.flatten().apply(x);
  x = tf.layers.dropout({ rate: o.dropout }).apply(x);
  x = tf.layers.dense({ units: 640, activation: 'relu', kernelInitializer: init() }).apply(x);
  x = tf.layers.dropout({ rate: o.dropout }).apply(x);
  const output = tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init() }).apply(x) as any;
  return tf.model({ inputs: input, outputs: output });
}

export const ARCHITECTURES = { compact, 'thesis-inception': thesisInception } as const;
export type ArchitectureName = keyof typeof ARCHITECTURES;

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.hasOwn(ARCHITECTURES, name);
}

/** Builds and compiles a named architecture: Adam, MSE loss, MAE metric (the thesis setup). */
export function buildModel(tf: Tf, name: string, options: ArchitectureOptions): LayersModel {
  if (!isArchitectureName(name)) throw new Error(`unknown architecture "${name}" (known: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const model = ARCHITECTURES[name](tf, options);
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: 'meanSquaredError', metrics: ['mae'] });
  return model;
}
