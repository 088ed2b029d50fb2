import type { LayersModel } from '@tensorflow/tfjs';
import {
  after,
  bytes,
  DT_BOOL,
  DT_INT32,
  DT_UINT8,
  FLOAT,
  GraphBuilder,
  shapeAttr,
  UnsupportedModelError,
  type GraphNode,
} from './graphDef.js';
import { buildForward, type ForwardStep, type LayerWeight } from './layersToGraph.js';
import type { Signature } from './savedModel.js';

/** Adam with Keras's defaults (tfjs's too, but for where epsilon sits: TensorFlow's ApplyAdam, as Keras). */
export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Where training starts: the model's own weights, and Adam's moments and step count (zero when fresh). */
export interface OptimizerStart {
  iterations: number;
  /** Adam's moments by weight name (a layer weight's original name); a weight without them starts at zeros. */
  moments?: Map<string, { first: Float32Array; second: Float32Array }>;
}

/**
 * What the session is asked, as SavedModel signatures:
 * - init: sets the weights and Adam's state to their start;
 * - allocate: sizes the training set, uint8 frames [count, height, width, 3] and labels [count, 1] in 0..1;
 * - write: writes frames and their labels at these rows of it;
 * - train: one step on the frames at these indices, its loss and MAE (before the step);
 * - state: snapshots of every weight (by its layer weight name), its moments (`<name>/m`, `<name>/v`) and
 *   `adam/iterations`.
 */
export type TrainingSignature = 'init' | 'allocate' | 'write' | 'train' | 'state';

export interface TrainingGraph {
  nodes: GraphNode[];
  signatures: Record<TrainingSignature, Signature>;
}

interface Variable {
  weight: LayerWeight;
  node: string;
  firstMoment: string;
  secondMoment: string;
}

/**
 * One training step of a layers model as a TensorFlow graph: the forward pass with real dropout, mean squared
 * error, its gradient written op by op (the backward pass of each forward step), and TensorFlow's fused ApplyAdam
 * per weight. Weights, Adam's state and the training set are graph variables, so they stay in the session between
 * steps; the caller feeds a batch's indices and reads the loss. Keras runs the same kernels from its own graph.
 */
export function trainingGraph(model: LayersModel, adam: AdamSettings, start: OptimizerStart, seed: number): TrainingGraph {
  const g = new GraphBuilder();
  const variables: Variable[] = [];
  const initializers: string[] = [];
  const variable = (name: string, shape: number[], initial: string) => {
    const node = g.variable(name, shape);
    initializers.push(g.assign(`${node}/Assign`, node, initial));
    return node;
  };
  const zerosOrValues = (name: string, shape: number[], values: Float32Array | undefined) => {
    if (values) return g.constant(name, shape, values);
    return g.add(name, 'Fill', [g.constant(`${name}/shape`, [shape.length], Int32Array.from(shape)), g.scalar(`${name}/zero`, 0)], {
      T: FLOAT,
      index_type: { type: DT_INT32 },
    });
  };

  let dropoutSeed = 0;
  const masks = new Map<string, string>();
  const trainingDropout = (scope: string, x: string, rate: number) => {
    if (rate <= 0) return x;
    const shape = g.add(`${scope}/Shape`, 'Shape', [x], { T: FLOAT, out_type: { type: DT_INT32 } });
    const uniform = g.add(`${scope}/RandomUniform`, 'RandomUniform', [shape], {
      T: { type: DT_INT32 },
      dtype: FLOAT,
      seed: { i: seed },
      seed2: { i: ++dropoutSeed },
    });
    const keep = g.add(`${scope}/GreaterEqual`, 'GreaterEqual', [uniform, g.scalar(`${scope}/rate`, rate)], { T: FLOAT });
    const kept = g.add(`${scope}/Cast`, 'Cast', [keep], { SrcT: { type: DT_BOOL }, DstT: FLOAT, Truncate: { b: false } });
    const mask = g.add(`${scope}/mask`, 'Mul', [kept, g.scalar(`${scope}/scale`, 1 / (1 - rate))], { T: FLOAT });
    const dropped = g.add(`${scope}/dropped`, 'Mul', [x, mask], { T: FLOAT });
    masks.set(dropped, mask);
    return dropped;
  };

  // The training set stays in the session as uint8, a quarter of its float size; a step gathers its batch there.
  const storedFrames = g.variable('data/frames', undefined, DT_UINT8);
  const storedLabels = g.variable('data/labels', undefined);
  /** A Placeholder, described as a signature input. */
  const input = (name: string, dtype: number, shape: number[]) => ({
    name: g.add(name, 'Placeholder', [], { dtype: { type: dtype }, shape: { shape: shapeAttr(shape) } }),
    shape,
    dtype,
  });
  const indices = input('batch/indices', DT_INT32, [-1]);
  const axis0 = g.constant('batch/axis', [], Int32Array.of(0));
  const gather = (name: string, params: string, dtype: number) =>
    g.add(name, 'GatherV2', [params, indices.name, axis0], {
      Tparams: { type: dtype },
      Tindices: { type: DT_INT32 },
      Taxis: { type: DT_INT32 },
      batch_dims: { i: 0 },
    });
  const batchFrames = (scope: string) => {
    const pixels = g.add(`${scope}/Cast`, 'Cast', [gather(`${scope}/Gather`, storedFrames, DT_UINT8)], {
      SrcT: { type: DT_UINT8 },
      DstT: FLOAT,
      Truncate: { b: false },
    });
    return g.add(`${scope}/scaled`, 'RealDiv', [pixels, g.scalar(`${scope}/255`, 255)], { T: FLOAT });
  };
  // Sized once, then written chunk by chunk in place: loading never holds the whole set twice.
  const allocate = (variableNode: string, shape: string, zero: string, dtype: number) => {
    const zeros = g.add(`${variableNode}/zeros`, 'Fill', [shape, zero], { T: { type: dtype }, index_type: { type: DT_INT32 } });
    return g.assign(`${variableNode}/allocate`, variableNode, zeros, { dtype, validateShape: false });
  };
  const write = (variableNode: string, at: string, rows: string, dtype: number) =>
    g.add(`${variableNode}/write`, 'ScatterUpdate', [variableNode, at, rows], {
      T: { type: dtype },
      Tindices: { type: DT_INT32 },
      use_locking: { b: true },
    });
  /** A signature's output that is there once these have run. */
  const done = (name: string, waitFor: string[]) => g.scalar(name, 1, waitFor);

  const weightNode = (_scope: string, weight: LayerWeight) => {
    const moments = start.moments?.get(weight.name);
    const node = variable(weight.name, weight.shape, g.constant(`${weight.name}/initial`, weight.shape, weight.values));
    variables.push({
      weight,
      node,
      firstMoment: variable(`${weight.name}/m`, weight.shape, zerosOrValues(`${weight.name}/m/initial`, weight.shape, moments?.first)),
      secondMoment: variable(`${weight.name}/v`, weight.shape, zerosOrValues(`${weight.name}/v/initial`, weight.shape, moments?.second)),
    });
    return node;
  };
  const forward = buildForward(g, model, { weight: weightNode, dropout: trainingDropout, input: batchFrames });
  if (forward.output.shape.length !== 2)
    throw new UnsupportedModelError(`the training graph takes outputs of [batch, units], not [${forward.output.shape.join(', ')}]`);
  const [height, width, channels] = forward.input.shape.slice(1);
  const framesShape = input('allocate/frames_shape', DT_INT32, [4]);
  const labelsShape = input('allocate/labels_shape', DT_INT32, [2]);
  const zeroByte = g.add('allocate/zero_byte', 'Cast', [g.constant('allocate/zero_int', [], Int32Array.of(0))], {
    SrcT: { type: DT_INT32 },
    DstT: { type: DT_UINT8 },
    Truncate: { b: false },
  });
  const allocated = done('allocate/done', [
    allocate(storedFrames, framesShape.name, zeroByte, DT_UINT8),
    allocate(storedLabels, labelsShape.name, g.scalar('allocate/zero_float', 0), FLOAT.type),
  ]);
  const writeAt = input('write/at', DT_INT32, [-1]);
  const writeFrames = input('write/frames', DT_UINT8, [-1, height, width, channels]);
  const writeLabels = input('write/labels', FLOAT.type, forward.output.shape);
  const written = done('write/done', [
    write(storedFrames, writeAt.name, writeFrames.name, DT_UINT8),
    write(storedLabels, writeAt.name, writeLabels.name, FLOAT.type),
  ]);

  // Loss: mean squared error over the batch, and the mean absolute error Keras reports with it.
  const labels = gather('batch/labels', storedLabels, FLOAT.type);
  const diff = g.add('loss/diff', 'Sub', [forward.output.name, labels], { T: FLOAT });
  const allAxes = g.constant('loss/axes', [2], Int32Array.of(0, 1));
  const mean = (name: string, x: string) =>
    g.add(name, 'Mean', [x, allAxes], { T: FLOAT, Tidx: { type: DT_INT32 }, keep_dims: { b: false } });
  const loss = mean('loss/mse', g.add('loss/square', 'Square', [diff], { T: FLOAT }));
  const mae = mean('loss/mae', g.add('loss/abs', 'Abs', [diff], { T: FLOAT }));
  const count = g.add('loss/count', 'Cast', [g.add('loss/size', 'Size', [diff], { T: FLOAT, out_type: { type: DT_INT32 } })], {
    SrcT: { type: DT_INT32 },
    DstT: FLOAT,
    Truncate: { b: false },
  });
  const twoOverCount = g.add('loss/two_over_count', 'RealDiv', [g.scalar('loss/two', 2), count], { T: FLOAT });
  const outputGradient = g.add('grad/loss', 'Mul', [diff, twoOverCount], { T: FLOAT });

  const weightGradients = backward(g, forward.steps, forward.output.name, outputGradient, new Set(variables.map((v) => v.node)), masks);
  const backwardNodes = g.nodes.slice(g.nodes.findIndex((n) => n.name === outputGradient)).map((n) => n.name);
  // In-place updates must wait until every read of the old weights (forward and backward) is done.
  const gradientsDone = g.add('grad/done', 'NoOp', [...backwardNodes, loss, mae].map(after));

  const beta1Power = variable('adam/beta1_power', [], g.scalar('adam/beta1_power/initial', adam.beta1 ** (start.iterations + 1)));
  const beta2Power = variable('adam/beta2_power', [], g.scalar('adam/beta2_power/initial', adam.beta2 ** (start.iterations + 1)));
  const iterations = variable('adam/iterations', [], g.scalar('adam/iterations/initial', start.iterations));
  const settings = ['learningRate', 'beta1', 'beta2', 'epsilon'].map((k) => g.scalar(`adam/${k}`, adam[k as keyof AdamSettings]));
  const updates = variables.map((v) => {
    const gradient = weightGradients.get(v.node);
    if (!gradient) throw new UnsupportedModelError(`weight ${v.weight.name} gets no gradient in the training graph`);
    return g.add(
      `${v.weight.name}/ApplyAdam`,
      'ApplyAdam',
      [v.node, v.firstMoment, v.secondMoment, beta1Power, beta2Power, ...settings, gradient, after(gradientsDone)],
      { T: FLOAT, use_locking: { b: false }, use_nesterov: { b: false } },
    );
  });
  const advance = (power: string, beta: string, name: string) => {
    const next = g.add(`${name}/next`, 'Mul', [power, beta, ...updates.map(after)], { T: FLOAT });
    return g.assign(`${name}/advance`, power, next);
  };
  const counted = g.add('adam/iterations/next', 'Add', [iterations, g.scalar('adam/one', 1), ...updates.map(after)], { T: FLOAT });
  const stepDone = [
    advance(beta1Power, settings[1], 'adam/beta1_power'),
    advance(beta2Power, settings[2], 'adam/beta2_power'),
    g.assign('adam/iterations/advance', iterations, counted),
  ];
  const lossOut = g.add('train/loss', 'Identity', [loss, ...stepDone.map(after)], { T: FLOAT });
  const maeOut = g.add('train/mae', 'Identity', [mae, ...stepDone.map(after)], { T: FLOAT });

  const initDone = done('init/done', initializers);

  const scalar = (name: string) => ({ name, shape: [] });
  const snapshot = (node: string, shape: number[]) => ({ name: g.add(`state/${node}`, 'Snapshot', [node], { T: FLOAT }), shape });
  return {
    nodes: g.nodes,
    signatures: {
      init: { inputs: {}, outputs: { done: scalar(initDone) } },
      allocate: { inputs: { framesShape, labelsShape }, outputs: { done: scalar(allocated) } },
      write: { inputs: { at: writeAt, frames: writeFrames, labels: writeLabels }, outputs: { done: scalar(written) } },
      train: { inputs: { indices }, outputs: { loss: scalar(lossOut), mae: scalar(maeOut) } },
      state: {
        inputs: {},
        outputs: Object.fromEntries([
          ...variables.flatMap(({ weight, node, firstMoment, secondMoment }) => [
            [weight.name, snapshot(node, weight.shape)],
            [`${weight.name}/m`, snapshot(firstMoment, weight.shape)],
            [`${weight.name}/v`, snapshot(secondMoment, weight.shape)],
          ]),
          ['adam/iterations', snapshot(iterations, [])],
        ]),
      },
    },
  };
}

/**
 * The gradient of every trainable weight, from the gradient of the output, by walking the forward steps in reverse.
 * A tensor read by several steps (an inception block's input) sums the gradients its readers send back.
 */
function backward(
  g: GraphBuilder,
  steps: ForwardStep[],
  output: string,
  outputGradient: string,
  trainable: Set<string>,
  masks: Map<string, string>,
): Map<string, string> {
  const pending = new Map<string, string[]>([[output, [outputGradient]]]);
  const send = (tensor: string, gradient: string) => pending.set(tensor, [...(pending.get(tensor) ?? []), gradient]);
  // Only tensors downstream of a weight need a gradient: not the frames, nor what depends on them alone.
  const needsGradient = new Set<string>(trainable);
  for (const step of steps) {
    const inputs =
      step.op === 'ConcatV2' ? step.xs : [step.x, ...('kernel' in step ? [step.kernel] : []), ...('bias' in step ? [step.bias] : [])];
    if (inputs.some((i) => needsGradient.has(i))) needsGradient.add(step.out);
  }
  const gradientOf = (tensor: string): string | undefined => {
    const parts = pending.get(tensor);
    if (!parts) return undefined;
    if (parts.length === 1) return parts[0];
    const sum = g.add(`grad/${tensor}/AddN`, 'AddN', parts, { N: { i: parts.length }, T: FLOAT });
    pending.set(tensor, [sum]);
    return sum;
  };
  const shapeOf = (x: string) => g.add(`grad/${x}/Shape`, 'Shape', [x], { T: FLOAT, out_type: { type: DT_INT32 } });

  for (const step of [...steps].reverse()) {
    const dy = gradientOf(step.out);
    if (!dy) continue;
    const scope = `grad/${step.out}`;
    switch (step.op) {
      case 'Conv2D': {
        const { strides, dilations, padding, data_format } = step.attr;
        const convAttr = { T: FLOAT, strides, dilations, padding, data_format };
        const filterSizes = g.constant(`${scope}/filter_sizes`, [4], Int32Array.from(step.kernelShape));
        send(step.kernel, g.add(`${scope}/filter`, 'Conv2DBackpropFilter', [step.x, filterSizes, dy], convAttr));
        if (needsGradient.has(step.x))
          send(step.x, g.add(`${scope}/input`, 'Conv2DBackpropInput', [shapeOf(step.x), step.kernel, dy], convAttr));
        break;
      }
      case 'MatMul':
        send(
          step.kernel,
          g.add(`${scope}/kernel`, 'MatMul', [step.x, dy], { T: FLOAT, transpose_a: { b: true }, transpose_b: { b: false } }),
        );
        if (needsGradient.has(step.x))
          send(
            step.x,
            g.add(`${scope}/input`, 'MatMul', [dy, step.kernel], { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: true } }),
          );
        break;
      case 'BiasAdd':
        send(step.bias, g.add(`${scope}/bias`, 'BiasAddGrad', [dy], { T: FLOAT, data_format: { s: bytes('NHWC') } }));
        send(step.x, dy);
        break;
      case 'Activation': {
        const grads: Record<string, [string, string[]]> = {
          Relu: ['ReluGrad', [dy, step.out]],
          Sigmoid: ['SigmoidGrad', [step.out, dy]],
          Tanh: ['TanhGrad', [step.out, dy]],
        };
        const known = grads[step.kind];
        if (!known) throw new UnsupportedModelError(`activation ${step.kind} has no gradient in the training graph`);
        send(step.x, g.add(`${scope}/${known[0]}`, known[0], known[1], { T: FLOAT }));
        break;
      }
      case 'MaxPool':
        send(step.x, g.add(`${scope}/MaxPoolGrad`, 'MaxPoolGrad', [step.x, step.out, dy], step.attr));
        break;
      case 'ConcatV2': {
        let offset = 0;
        step.xs.forEach((x, i) => {
          if (needsGradient.has(x)) {
            const begin = g.constant(`${scope}/begin_${i}`, [4], Int32Array.of(0, 0, 0, offset));
            const size = g.constant(`${scope}/size_${i}`, [4], Int32Array.of(-1, -1, -1, step.channels[i]));
            send(x, g.add(`${scope}/Slice_${i}`, 'Slice', [dy, begin, size], { T: FLOAT, Index: { type: DT_INT32 } }));
          }
          offset += step.channels[i];
        });
        break;
      }
      case 'Reshape':
        send(step.x, g.add(`${scope}/Reshape`, 'Reshape', [dy, shapeOf(step.x)], { T: FLOAT, Tshape: { type: DT_INT32 } }));
        break;
      case 'Dropout': {
        send(step.x, g.add(`${scope}/Mul`, 'Mul', [dy, masks.get(step.out)!], { T: FLOAT }));
        break;
      }
    }
  }
  const gradients = new Map<string, string>();
  for (const weight of trainable) {
    const gradient = gradientOf(weight);
    if (gradient) gradients.set(weight, gradient);
  }
  return gradients;
}
