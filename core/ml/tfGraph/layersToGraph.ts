import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { bytes, DT_INT32, FLOAT, GraphBuilder, shapeAttr, UnsupportedModelError, type GraphNode } from './graphDef.js';

export { UnsupportedModelError, type GraphNode } from './graphDef.js';

/** The model as one frozen inference graph: weights are Const nodes, dropout is gone. */
export interface InferenceGraph {
  nodes: GraphNode[];
  /** The Placeholder the frames go in: float32 [batch, height, width, channels]. */
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
}

const ACTIVATION_OPS: Record<string, string | null> = {
  linear: null,
  relu: 'Relu',
  relu6: 'Relu6',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  elu: 'Elu',
  selu: 'Selu',
  softplus: 'Softplus',
  softsign: 'Softsign',
};

export interface LayerWeight {
  /** The layers model's own name of the weight, e.g. conv2d_1/kernel. */
  name: string;
  shape: number[];
  values: Float32Array;
}

/** How the graph reads weights and what dropout becomes: what a frozen graph and a training graph differ in. */
export interface ForwardHooks {
  weight(scope: string, weight: LayerWeight): string;
  dropout(scope: string, x: string, rate: number): string;
  /** Where the frames come from; unset, a float32 Placeholder fed by the caller. */
  input?(scope: string, shape: number[]): string;
}

/** One op of the forward pass, with what its gradient needs (core/ml/tfGraph/trainingGraph.ts). */
export type ForwardStep =
  | { op: 'Conv2D'; x: string; kernel: string; kernelShape: number[]; out: string; attr: GraphNode['attr'] }
  | { op: 'MatMul'; x: string; kernel: string; out: string }
  | { op: 'BiasAdd'; x: string; bias: string; out: string }
  | { op: 'Activation'; kind: string; x: string; out: string }
  | { op: 'MaxPool'; x: string; out: string; attr: GraphNode['attr'] }
  | { op: 'ConcatV2'; xs: string[]; channels: number[]; out: string }
  | { op: 'Reshape'; x: string; out: string }
  | { op: 'Dropout'; x: string; out: string };

export interface ForwardGraph {
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
  steps: ForwardStep[];
}

type LayerConfig = Record<string, unknown>;

const pair = (value: unknown): [number, number] => (Array.isArray(value) ? [value[0], value[1]] : [value as number, value as number]);
const dims = (t: SymbolicTensor) => t.shape.map((d) => d ?? -1);

/**
 * Writes the forward pass of a layers model in TensorFlow ops, node by node from its input to its output,
 * for the layers the architectures use (Conv2D, MaxPooling2D, Concatenate, Flatten, Dropout, Dense).
 * Any other layer, a channels-first layout or a model with several inputs or outputs is refused with
 * an UnsupportedModelError, so the caller can keep running the layers model itself.
 */
export function buildForward(g: GraphBuilder, model: LayersModel, hooks: ForwardHooks): ForwardGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new UnsupportedModelError(
      `only models with one input and one output run as a graph (${model.name} has ${model.inputs.length} and ${model.outputs.length})`,
    );
  const steps: ForwardStep[] = [];
  const names = new Map<SymbolicTensor, string>();
  const weightsOf = (layer: SymbolicTensor['sourceLayer']) => {
    const values = layer.getWeights();
    return layer.weights.map((w, i) =>
      hooks.weight(layer.name, { name: w.originalName, shape: w.shape as number[], values: values[i].dataSync() as Float32Array }),
    );
  };
  const withActivation = (scope: string, x: string, activation: unknown) => {
    const kind = typeof activation === 'string' ? activation : 'linear';
    if (!Object.hasOwn(ACTIVATION_OPS, kind)) throw new UnsupportedModelError(`layer ${scope}: activation "${kind}" has no graph op here`);
    const op = ACTIVATION_OPS[kind];
    if (op === null) return x;
    const out = g.add(`${scope}/${op}`, op, [x], { T: FLOAT });
    steps.push({ op: 'Activation', kind: op, x, out });
    return out;
  };
  const withBias = (scope: string, x: string, weights: string[], useBias: unknown) => {
    if (useBias === false) return x;
    const out = g.add(`${scope}/BiasAdd`, 'BiasAdd', [x, weights[1]], { T: FLOAT, data_format: { s: bytes('NHWC') } });
    steps.push({ op: 'BiasAdd', x, bias: weights[1], out });
    return out;
  };
  const channelsLast = (scope: string, config: LayerConfig) => {
    if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast')
      throw new UnsupportedModelError(`layer ${scope}: data format ${String(config.dataFormat)} (only channelsLast runs as a graph)`);
  };

  const visit = (tensor: SymbolicTensor): string => {
    const known = names.get(tensor);
    if (known !== undefined) return known;
    const layer = tensor.sourceLayer;
    const scope = layer.name;
    const config = layer.getConfig() as LayerConfig;
    const inputs = tensor.inputs.map(visit);
    let out: string;
    switch (layer.getClassName()) {
      case 'InputLayer':
        out =
          hooks.input?.(scope, dims(tensor)) ??
          g.add(scope, 'Placeholder', [], { dtype: FLOAT, shape: { shape: shapeAttr(dims(tensor)) } });
        break;
      case 'Conv2D': {
        channelsLast(scope, config);
        const w = weightsOf(layer);
        const [sh, sw] = pair(config.strides);
        const [dh, dw] = pair(config.dilationRate ?? 1);
        const attr = {
          T: FLOAT,
          strides: { list: { i: [1, sh, sw, 1] } },
          dilations: { list: { i: [1, dh, dw, 1] } },
          padding: { s: bytes(String(config.padding).toUpperCase()) },
          data_format: { s: bytes('NHWC') },
        };
        const conv = g.add(`${scope}/Conv2D`, 'Conv2D', [inputs[0], w[0]], attr);
        steps.push({ op: 'Conv2D', x: inputs[0], kernel: w[0], kernelShape: layer.weights[0].shape as number[], out: conv, attr });
        out = withActivation(scope, withBias(scope, conv, w, config.useBias), config.activation);
        break;
      }
      case 'MaxPooling2D': {
        channelsLast(scope, config);
        const [ph, pw] = pair(config.poolSize);
        const [sh, sw] = pair(config.strides ?? config.poolSize);
        const attr = {
          T: FLOAT,
          ksize: { list: { i: [1, ph, pw, 1] } },
          strides: { list: { i: [1, sh, sw, 1] } },
          padding: { s: bytes(String(config.padding).toUpperCase()) },
          data_format: { s: bytes('NHWC') },
        };
        out = g.add(`${scope}/MaxPool`, 'MaxPool', [inputs[0]], attr);
        steps.push({ op: 'MaxPool', x: inputs[0], out, attr });
        break;
      }
      case 'Concatenate': {
        const rank = tensor.shape.length;
        const axis = ((config.axis as number) + rank) % rank;
        if (axis !== rank - 1)
          throw new UnsupportedModelError(`layer ${scope}: concatenation on axis ${axis} (only the channels axis runs as a graph)`);
        const axisNode = g.constant(`${scope}/axis`, [], Int32Array.of(axis));
        out = g.add(`${scope}/ConcatV2`, 'ConcatV2', [...inputs, axisNode], {
          N: { i: inputs.length },
          T: FLOAT,
          Tidx: { type: DT_INT32 },
        });
        steps.push({ op: 'ConcatV2', xs: inputs, channels: tensor.inputs.map((t) => t.shape[axis] as number), out });
        break;
      }
      case 'Flatten': {
        channelsLast(scope, config);
        const features = tensor.shape.slice(1).reduce<number>((n, d) => n * (d as number), 1);
        const shape = g.constant(`${scope}/shape`, [2], Int32Array.of(-1, features));
        out = g.add(`${scope}/Reshape`, 'Reshape', [inputs[0], shape], { T: FLOAT, Tshape: { type: DT_INT32 } });
        steps.push({ op: 'Reshape', x: inputs[0], out });
        break;
      }
      case 'Dropout':
        out = hooks.dropout(scope, inputs[0], config.rate as number);
        if (out !== inputs[0]) steps.push({ op: 'Dropout', x: inputs[0], out });
        break;
      case 'Dense': {
        if (tensor.inputs[0].rank !== 2) throw new UnsupportedModelError(`layer ${scope}: Dense on a rank-${tensor.inputs[0].rank} input`);
        const w = weightsOf(layer);
        const matMul = g.add(`${scope}/MatMul`, 'MatMul', [inputs[0], w[0]], {
          T: FLOAT,
          transpose_a: { b: false },
          transpose_b: { b: false },
        });
        steps.push({ op: 'MatMul', x: inputs[0], kernel: w[0], out: matMul });
        out = withActivation(scope, withBias(scope, matMul, w, config.useBias), config.activation);
        break;
      }
      default:
        throw new UnsupportedModelError(`layer ${scope}: ${layer.getClassName()} has no graph translation here`);
    }
    names.set(tensor, out);
    return out;
  };

  const output = visit(model.outputs[0]);
  return {
    input: { name: names.get(model.inputs[0])!, shape: dims(model.inputs[0]) },
    output: { name: output, shape: dims(model.outputs[0]) },
    steps,
  };
}

/** The model as a frozen inference graph: weights become constants and dropout disappears. */
export function layersToGraph(model: LayersModel): InferenceGraph {
  const g = new GraphBuilder();
  const forward = buildForward(g, model, {
    weight: (scope, w) => g.constant(`${scope}/${w.name.split('/').pop()}`, w.shape, w.values),
    dropout: (_scope, x) => x,
  });
  return { nodes: g.nodes, input: forward.input, output: forward.output };
}
