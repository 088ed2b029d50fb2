import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';

/** A NodeDef of tensorflow.proto as protobufjs takes it (snake_case fields, attr values by their oneof name). */
export interface GraphNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, Record<string, unknown>>;
}

/** The model as one frozen inference graph: weights are Const nodes, dropout is gone. */
export interface InferenceGraph {
  nodes: GraphNode[];
  /** The Placeholder the frames go in: float32 [batch, height, width, channels]. */
  input: { name: string; shape: number[] };
  output: { name: string; shape: number[] };
}

export class UnsupportedModelError extends Error {
  readonly code = 'unsupported_model';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

const DT_FLOAT = 1;
const DT_INT32 = 3;
const FLOAT = { type: DT_FLOAT };

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

interface LayerWeight {
  shape: number[];
  values: Float32Array;
}

type LayerConfig = Record<string, unknown>;

const bytes = (text: string) => Buffer.from(text, 'utf8');
const pair = (value: unknown): [number, number] => (Array.isArray(value) ? [value[0], value[1]] : [value as number, value as number]);

function constant(name: string, shape: number[], data: Float32Array | Int32Array): GraphNode {
  const dtype = data instanceof Float32Array ? DT_FLOAT : DT_INT32;
  return {
    name,
    op: 'Const',
    input: [],
    attr: {
      dtype: { type: dtype },
      value: {
        tensor: {
          dtype,
          tensor_shape: { dim: shape.map((size) => ({ size })) },
          tensor_content: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        },
      },
    },
  };
}

/**
 * Writes the graph of a layers model in TensorFlow ops, node by node from its inputs to its output,
 * for the layers the architectures use (Conv2D, MaxPooling2D, Concatenate, Flatten, Dropout, Dense).
 * Any other layer, a channels-first layout or a model with several inputs or outputs is refused with
 * an UnsupportedModelError, so the caller can keep running the layers model itself.
 */
export function layersToGraph(model: LayersModel): InferenceGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new UnsupportedModelError(
      `only models with one input and one output run as a graph (${model.name} has ${model.inputs.length} and ${model.outputs.length})`,
    );
  const nodes: GraphNode[] = [];
  const names = new Map<SymbolicTensor, string>();
  const used = new Set<string>();
  const unique = (base: string) => {
    let name = base.replace(/[^A-Za-z0-9_.\-/]/g, '_');
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  const add = (node: Omit<GraphNode, 'name'> & { name: string }) => {
    nodes.push({ ...node, name: unique(node.name) });
    return nodes[nodes.length - 1].name;
  };
  const weightsOf = (layer: SymbolicTensor['sourceLayer']): LayerWeight[] =>
    layer.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync() as Float32Array }));
  const withActivation = (scope: string, x: string, activation: unknown) => {
    const name = typeof activation === 'string' ? activation : 'linear';
    if (!Object.hasOwn(ACTIVATION_OPS, name)) throw new UnsupportedModelError(`layer ${scope}: activation "${name}" has no graph op here`);
    const op = ACTIVATION_OPS[name];
    return op === null ? x : add({ name: `${scope}/${op}`, op, input: [x], attr: { T: FLOAT } });
  };
  const withBias = (scope: string, x: string, layerWeights: LayerWeight[], useBias: unknown) => {
    if (useBias === false) return x;
    const bias = layerWeights[1];
    const b = add(constant(`${scope}/bias`, bias.shape, bias.values));
    return add({ name: `${scope}/BiasAdd`, op: 'BiasAdd', input: [x, b], attr: { T: FLOAT, data_format: { s: bytes('NHWC') } } });
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
      case 'InputLayer': {
        const shape = tensor.shape.map((d) => d ?? -1);
        out = add({
          name: scope,
          op: 'Placeholder',
          input: [],
          attr: { dtype: FLOAT, shape: { shape: { dim: shape.map((size) => ({ size })) } } },
        });
        break;
      }
      case 'Conv2D': {
        channelsLast(scope, config);
        const w = weightsOf(layer);
        const kernel = add(constant(`${scope}/kernel`, w[0].shape, w[0].values));
        const [sh, sw] = pair(config.strides);
        const [dh, dw] = pair(config.dilationRate ?? 1);
        const conv = add({
          name: `${scope}/Conv2D`,
          op: 'Conv2D',
          input: [inputs[0], kernel],
          attr: {
            T: FLOAT,
            strides: { list: { i: [1, sh, sw, 1] } },
            dilations: { list: { i: [1, dh, dw, 1] } },
            padding: { s: bytes(String(config.padding).toUpperCase()) },
            data_format: { s: bytes('NHWC') },
          },
        });
        out = withActivation(scope, withBias(scope, conv, w, config.useBias), config.activation);
        break;
      }
      case 'MaxPooling2D': {
        channelsLast(scope, config);
        const [ph, pw] = pair(config.poolSize);
        const [sh, sw] = pair(config.strides ?? config.poolSize);
        out = add({
          name: `${scope}/MaxPool`,
          op: 'MaxPool',
          input: [inputs[0]],
          attr: {
            T: FLOAT,
            ksize: { list: { i: [1, ph, pw, 1] } },
            strides: { list: { i: [1, sh, sw, 1] } },
            padding: { s: bytes(String(config.padding).toUpperCase()) },
            data_format: { s: bytes('NHWC') },
          },
        });
        break;
      }
      case 'Concatenate': {
        const axis = add(constant(`${scope}/axis`, [], Int32Array.of(config.axis as number)));
        out = add({
          name: `${scope}/ConcatV2`,
          op: 'ConcatV2',
          input: [...inputs, axis],
          attr: { N: { i: inputs.length }, T: FLOAT, Tidx: { type: DT_INT32 } },
        });
        break;
      }
      case 'Flatten': {
        channelsLast(scope, config);
        const features = tensor.shape.slice(1).reduce<number>((n, d) => n * (d as number), 1);
        const shape = add(constant(`${scope}/shape`, [2], Int32Array.of(-1, features)));
        out = add({ name: `${scope}/Reshape`, op: 'Reshape', input: [inputs[0], shape], attr: { T: FLOAT, Tshape: { type: DT_INT32 } } });
        break;
      }
      case 'Dropout':
        out = inputs[0];
        break;
      case 'Dense': {
        if (tensor.inputs[0].rank !== 2) throw new UnsupportedModelError(`layer ${scope}: Dense on a rank-${tensor.inputs[0].rank} input`);
        const w = weightsOf(layer);
        const kernel = add(constant(`${scope}/kernel`, w[0].shape, w[0].values));
        const matMul = add({
          name: `${scope}/MatMul`,
          op: 'MatMul',
          input: [inputs[0], kernel],
          attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } },
        });
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
  const dims = (t: SymbolicTensor) => t.shape.map((d) => d ?? -1);
  return {
    nodes,
    input: { name: names.get(model.inputs[0])!, shape: dims(model.inputs[0]) },
    output: { name: output, shape: dims(model.outputs[0]) },
  };
}
