import type { LayersModel } from '@tensorflow/tfjs';
import { bytes, DT_FLOAT, DT_INT32, DT_STRING, DT_UINT8, FLOAT, GraphBuilder, shapeAttr, type GraphNode } from './graphDef.js';
import { buildForward, type LayerWeight } from './layersToGraph.js';
import { SERVING_SIGNATURE, SIGNATURE_INPUT, SIGNATURE_OUTPUT, type Signature } from './savedModel.js';
import { hasLanczos3Op, LANCZOS3_OP } from '../tfOps.js';

/**
 * How a decoded frame is resized to the model input inside the graph (bench/jpegGraph.ts measures them). 'lanczos3' is
 * TensorFlow's ScaleAndTranslate op; 'lanczos3-mlops' the same bytes from this project's op MlopsLanczos3Resize
 * (native/lanczos3Resize.cc), in a process that registered it (core/ml/tfOps.ts).
 */
export type JpegResize = 'bilinear' | 'area' | 'lanczos3' | 'lanczos3-mlops';

/** The resize of preprocessing 'graph-v1': see docs/ARCHITECTURE.md (the JPEG graph) for the measurements behind it. */
export const GRAPH_V1_RESIZE: JpegResize = 'lanczos3';

/** The graph-v1 resize this process computes fastest: the same bytes either way. */
export const graphV1Resize = (): JpegResize => (hasLanczos3Op() ? 'lanczos3-mlops' : GRAPH_V1_RESIZE);

/** Batch shapes a graph has a signature for; a batch of another size is padded up to the next one. */
export const JPEG_BATCH_SIZES = [1, 2, 4, 8, 16] as const;

export const jpegSignature = (batch: number) => `jpeg_${batch}`;
/** The model input (uint8, before scaling) the jpeg_<b> signature computes, for checks and training. */
export const pixelsSignature = (batch: number) => `pixels_${batch}`;
export const JPEG_INPUT = 'jpegs';
export const PREDICTIONS_OUTPUT = 'predictions';
export const PIXELS_OUTPUT = 'pixels';
/** Frame i's decode as int32 words (its RGB bytes in order, padded to a multiple of 4), and its shape [h, w, 3]. */
export const rgbOutput = (i: number) => `rgb_${i}`;
export const rgbShapeOutput = (i: number) => `rgb_shape_${i}`;

export interface ModelSize {
  width: number;
  height: number;
}

const UINT8 = { type: DT_UINT8 };
const INT32 = { type: DT_INT32 };

/**
 * The JPEG decode every graph path shares: libjpeg-turbo's accurate integer IDCT with fancy upsampling, as sharp's
 * (libvips') decode, so the RGB equals decodeImage's bytes. A truncated or corrupt JPEG fails the call.
 */
const DECODE_ATTR: GraphNode['attr'] = {
  channels: { i: 3 },
  ratio: { i: 1 },
  fancy_upscaling: { b: true },
  try_recover_truncated: { b: false },
  acceptable_fraction: { f: 1 },
  dct_method: { s: bytes('INTEGER_ACCURATE') },
};

function resizeNode(g: GraphBuilder, scope: string, image: string, decoded: string, size: ModelSize, resize: JpegResize): string {
  const target = g.constant(`${scope}/size`, [2], Int32Array.of(size.height, size.width));
  switch (resize) {
    case 'bilinear':
      return g.add(`${scope}/ResizeBilinear`, 'ResizeBilinear', [image, target], {
        T: UINT8,
        align_corners: { b: false },
        half_pixel_centers: { b: true },
      });
    case 'area':
      return g.add(`${scope}/ResizeArea`, 'ResizeArea', [image, target], { T: UINT8, align_corners: { b: false } });
    case 'lanczos3-mlops':
      return g.add(`${scope}/${LANCZOS3_OP}`, LANCZOS3_OP, [image, target], {});
    case 'lanczos3': {
      // As tf.image.resize(method='lanczos3', antialias=True): scale = output size / input size, no translation.
      const shape = g.add(`${scope}/Shape`, 'Shape', [decoded], { T: UINT8, out_type: INT32 });
      const sides = g.add(
        `${scope}/sides`,
        'Slice',
        [shape, g.constant(`${scope}/begin`, [1], Int32Array.of(0)), g.constant(`${scope}/count`, [1], Int32Array.of(2))],
        {
          T: INT32,
          Index: INT32,
        },
      );
      const toFloat = (name: string, x: string) => g.add(name, 'Cast', [x], { SrcT: INT32, DstT: FLOAT, Truncate: { b: false } });
      const scale = g.add(`${scope}/scale`, 'RealDiv', [toFloat(`${scope}/size_f`, target), toFloat(`${scope}/sides_f`, sides)], {
        T: FLOAT,
      });
      const translation = g.constant(`${scope}/translation`, [2], Float32Array.of(0, 0));
      return g.add(`${scope}/ScaleAndTranslate`, 'ScaleAndTranslate', [image, target, scale, translation], {
        T: UINT8,
        kernel_type: { s: bytes('lanczos3') },
        antialias: { b: true },
      });
    }
  }
}

/**
 * JPEG bytes (a string tensor [batch]) to the model input, one frame at a time (frames of a batch may differ in size):
 * decode, resize to the model size, round and clip to 0..255 as uint8, then all frames joined. Returns the uint8
 * frames [batch, height, width, 3] (what training stores) and each frame's decode (uint8 [h, w, 3]).
 */
export function addJpegPreprocessing(
  g: GraphBuilder,
  scope: string,
  jpegs: string,
  batch: number,
  size: ModelSize,
  resize: JpegResize = GRAPH_V1_RESIZE,
): { pixels: string; rgb: string[] } {
  const frames = g.add(`${scope}/Unpack`, 'Unpack', [jpegs], { T: { type: DT_STRING }, num: { i: batch }, axis: { i: 0 } });
  const axis0 = g.constant(`${scope}/axis0`, [], Int32Array.of(0));
  const zero = g.scalar(`${scope}/zero`, 0);
  const max = g.scalar(`${scope}/max`, 255);
  const rgb: string[] = [];
  const resized: string[] = [];
  for (let i = 0; i < batch; i++) {
    const frameScope = `${scope}/frame${i}`;
    const decoded = g.add(`${frameScope}/DecodeJpeg`, 'DecodeJpeg', [i === 0 ? frames : `${frames}:${i}`], DECODE_ATTR);
    rgb.push(decoded);
    const image = g.add(`${frameScope}/ExpandDims`, 'ExpandDims', [decoded, axis0], { T: UINT8, Tdim: INT32 });
    const floats = resizeNode(g, frameScope, image, decoded, size, resize);
    const rounded = g.add(`${frameScope}/Round`, 'Round', [floats], { T: FLOAT });
    const clipped = g.add(`${frameScope}/Clip`, 'ClipByValue', [rounded, zero, max], { T: FLOAT });
    resized.push(g.add(`${frameScope}/Cast`, 'Cast', [clipped], { SrcT: FLOAT, DstT: UINT8, Truncate: { b: false } }));
  }
  const pixels =
    batch === 1 ? resized[0] : g.add(`${scope}/Concat`, 'ConcatV2', [...resized, axis0], { N: { i: batch }, T: UINT8, Tidx: INT32 });
  return { pixels, rgb };
}

/**
 * A uint8 tensor as int32 words (its bytes in order, zero-padded to a multiple of 4) and its shape: tfjs-node cannot
 * read a uint8 output, and a Bitcast moves no bytes where a Cast to int32 would write four per byte.
 */
function asWords(g: GraphBuilder, scope: string, x: string): { words: string; shape: string } {
  const size = g.add(`${scope}/Size`, 'Size', [x], { T: UINT8, out_type: INT32 });
  const four = g.constant(`${scope}/four`, [], Int32Array.of(4));
  const padding = g.add(`${scope}/padding`, 'FloorMod', [g.add(`${scope}/Neg`, 'Neg', [size], { T: INT32 }), four], { T: INT32 });
  const paddings = g.add(
    `${scope}/paddings`,
    'Reshape',
    [
      g.add(`${scope}/pair`, 'Pack', [g.constant(`${scope}/none`, [], Int32Array.of(0)), padding], {
        N: { i: 2 },
        T: INT32,
        axis: { i: 0 },
      }),
      g.constant(`${scope}/pairShape`, [2], Int32Array.of(1, 2)),
    ],
    { T: INT32, Tshape: INT32 },
  );
  const flat = g.add(`${scope}/flat`, 'Reshape', [x, g.constant(`${scope}/minusOne`, [1], Int32Array.of(-1))], { T: UINT8, Tshape: INT32 });
  const padded = g.add(`${scope}/Pad`, 'Pad', [flat, paddings], { T: UINT8, Tpaddings: INT32 });
  const quads = g.add(`${scope}/quads`, 'Reshape', [padded, g.constant(`${scope}/quadShape`, [2], Int32Array.of(-1, 4))], {
    T: UINT8,
    Tshape: INT32,
  });
  return {
    words: g.add(`${scope}/Bitcast`, 'Bitcast', [quads], { T: UINT8, type: INT32 }),
    shape: g.add(`${scope}/Shape`, 'Shape', [x], { T: UINT8, out_type: INT32 }),
  };
}

/** uint8 frames to the float model input exactly as training scales them (core/ml/train.ts pixelsToTensor: x / 255). */
function scaled(g: GraphBuilder, scope: string, pixels: string): string {
  const floats = g.add(`${scope}/ToFloat`, 'Cast', [pixels], { SrcT: UINT8, DstT: FLOAT, Truncate: { b: false } });
  return g.add(`${scope}/scaled`, 'RealDiv', [floats, g.scalar(`${scope}/255`, 255)], { T: FLOAT });
}

const jpegPlaceholder = (g: GraphBuilder, scope: string, batch: number) =>
  g.add(`${scope}/${JPEG_INPUT}`, 'Placeholder', [], { dtype: { type: DT_STRING }, shape: { shape: shapeAttr([batch]) } });

export interface JpegGraph {
  nodes: GraphNode[];
  signatures: Record<string, Signature>;
}

/**
 * The preprocessing alone, for training: per batch shape b, `pixels_<b>` takes JPEGs [b] and gives the uint8 model
 * input [b, height, width, 3], written by the same function as the serving graph's.
 */
export function preprocessingGraph(size: ModelSize, batchSizes: readonly number[] = JPEG_BATCH_SIZES, resize?: JpegResize): JpegGraph {
  const g = new GraphBuilder();
  const signatures: Record<string, Signature> = {};
  for (const b of batchSizes) {
    const scope = `b${b}`;
    const input = jpegPlaceholder(g, scope, b);
    const { pixels } = addJpegPreprocessing(g, scope, input, b, size, resize);
    signatures[pixelsSignature(b)] = {
      inputs: { [JPEG_INPUT]: { name: input, shape: [b], dtype: DT_STRING } },
      outputs: { [PIXELS_OUTPUT]: { name: asWords(g, `${scope}/pixels`, pixels).words, shape: [-1], dtype: DT_INT32 } },
    };
  }
  return { nodes: g.nodes, signatures };
}

/** The serving graph, and the weights its `init` signature must be fed (by input name) before anything else runs. */
export interface JpegServingGraph extends JpegGraph {
  weights: Record<string, { shape: number[]; values: Float32Array }>;
}

export const INIT_SIGNATURE = 'init';

/**
 * A layers model served from JPEG bytes: per batch shape b, `jpeg_<b>` takes JPEGs [b] and gives `predictions` [b]
 * and `rgb_<i>` (frame i's decode), and `pixels_<b>` the uint8 model input the same nodes computed. Each batch shape
 * has its own copy of the model's compute nodes, all reading the same weights. `serving_default` is the model on float
 * frames (as layersToGraph's), to check the graph against the layers model.
 * The weights are session variables that `init` sets from its inputs, not constants: a session keeps a copy of every
 * constant per signature it runs (each runs its own executor), variables once; and the SavedModel stays small.
 */
export function jpegServingGraph(
  model: LayersModel,
  batchSizes: readonly number[] = JPEG_BATCH_SIZES,
  resize?: JpegResize,
): JpegServingGraph {
  const g = new GraphBuilder();
  const variables = new Map<string, string>();
  const initInputs: Signature['inputs'] = {};
  const initialWeights: JpegServingGraph['weights'] = {};
  const assigned: string[] = [];
  const weight = (scope: string, w: LayerWeight) => {
    const key = `${scope}/${w.name}`;
    let node = variables.get(key);
    if (node === undefined) {
      node = g.variable(`${scope}/${w.name.split('/').pop()}`, w.shape);
      const value = g.add(`${INIT_SIGNATURE}/${node}`, 'Placeholder', [], { dtype: FLOAT, shape: { shape: shapeAttr(w.shape) } });
      assigned.push(g.assign(`${node}/Assign`, node, value));
      const input = `w${variables.size}`;
      initInputs[input] = { name: value, shape: w.shape };
      initialWeights[input] = { shape: w.shape, values: w.values };
      variables.set(key, node);
    }
    return node;
  };
  const dropout = (_scope: string, x: string) => x;
  const [height, width] = model.inputs[0].shape.slice(1, 3) as number[];
  const signatures: Record<string, Signature> = {};

  const frozen = buildForward(g, model, { weight, dropout });
  signatures[SERVING_SIGNATURE] = { inputs: { [SIGNATURE_INPUT]: frozen.input }, outputs: { [SIGNATURE_OUTPUT]: frozen.output } };

  for (const b of batchSizes) {
    const scope = `jpeg${b}`;
    const input = jpegPlaceholder(g, scope, b);
    const { pixels, rgb } = addJpegPreprocessing(g, scope, input, b, { width, height }, resize);
    const modelInput = scaled(g, scope, pixels);
    const forward = buildForward(g, model, { weight, dropout, input: () => modelInput });
    const predictions = g.add(
      `${scope}/predictions`,
      'Reshape',
      [forward.output.name, g.constant(`${scope}/flat`, [1], Int32Array.of(-1))],
      {
        T: FLOAT,
        Tshape: INT32,
      },
    );
    const jpegsIn = { [JPEG_INPUT]: { name: input, shape: [b], dtype: DT_STRING } };
    const rgbOutputs = rgb.flatMap((node, i) => {
      const { words, shape } = asWords(g, `${scope}/frame${i}/rgb`, node);
      return [
        [rgbOutput(i), { name: words, shape: [-1], dtype: DT_INT32 }],
        [rgbShapeOutput(i), { name: shape, shape: [3], dtype: DT_INT32 }],
      ] as const;
    });
    signatures[jpegSignature(b)] = {
      inputs: jpegsIn,
      outputs: { [PREDICTIONS_OUTPUT]: { name: predictions, shape: [b], dtype: DT_FLOAT }, ...Object.fromEntries(rgbOutputs) },
    };
    signatures[pixelsSignature(b)] = {
      inputs: jpegsIn,
      outputs: { [PIXELS_OUTPUT]: { name: asWords(g, `${scope}/pixels`, pixels).words, shape: [-1], dtype: DT_INT32 } },
    };
  }
  signatures[INIT_SIGNATURE] = {
    inputs: initInputs,
    outputs: { done: { name: g.scalar(`${INIT_SIGNATURE}/done`, 1, assigned), shape: [] } },
  };
  return { nodes: g.nodes, signatures, weights: initialWeights };
}
