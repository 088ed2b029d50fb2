import fs from 'node:fs';
import protobuf from 'protobufjs';
import type { GraphNode, InferenceGraph } from './layersToGraph.js';

/** The signature tfjs-node's loadSavedModel looks for by default, and its tag. */
export const SERVING_TAG = 'serve';
export const SERVING_SIGNATURE = 'serving_default';
export const SIGNATURE_INPUT = 'frames';
export const SIGNATURE_OUTPUT = 'prediction';

import { DT_FLOAT } from './graphDef.js';
/**
 * The GraphDef version the graph says it was written for, one of TensorFlow 2.x: TensorFlow refuses only
 * ops deprecated at or before it, and the ops written here (Conv2D, MatMul, ...) never were.
 */
const GRAPH_DEF_PRODUCER = 1087;

let savedModelType: protobuf.Type | undefined;

function savedModelMessage(): protobuf.Type {
  if (!savedModelType) {
    const source = fs.readFileSync(new URL('./tensorflow.proto', import.meta.url), 'utf8');
    savedModelType = protobuf.parse(source, { keepCase: true }).root.lookupType('tensorflow.SavedModel');
  }
  return savedModelType;
}

const tensorInfo = (name: string, shape: number[], dtype = DT_FLOAT) => ({
  name: `${name}:0`,
  dtype,
  tensor_shape: { dim: shape.map((size) => ({ size })) },
});

/** A signature's tensors by their names in the signature: node name (output 0), shape (-1 where any), dtype (float32 unless said). */
export interface Signature {
  inputs: Record<string, { name: string; shape: number[]; dtype?: number }>;
  outputs: Record<string, { name: string; shape: number[]; dtype?: number }>;
}

/**
 * saved_model.pb of a SavedModel with one MetaGraphDef (tag "serve") holding the graph and its signatures. The SavedModel has no variables folder, which TensorFlow's loader accepts (it restores
 * nothing): weights are constants in a frozen graph, and variables a training graph initialises itself.
 */
export function encodeGraphSavedModel(nodes: GraphNode[], signatures: Record<string, Signature>): Uint8Array {
  const type = savedModelMessage();
  const infos = (tensors: Signature['inputs']) =>
    Object.fromEntries(Object.entries(tensors).map(([key, t]) => [key, tensorInfo(t.name, t.shape, t.dtype)]));
  const message = {
    saved_model_schema_version: 1,
    meta_graphs: [
      {
        meta_info_def: { tags: [SERVING_TAG] },
        graph_def: { node: nodes, versions: { producer: GRAPH_DEF_PRODUCER } },
        signature_def: Object.fromEntries(
          Object.entries(signatures).map(([key, s]) => [
            key,
            { inputs: infos(s.inputs), outputs: infos(s.outputs), method_name: 'tensorflow/serving/predict' },
          ]),
        ),
      },
    ],
  };
  const invalid = type.verify(message);
  if (invalid) throw new Error(`graph does not fit tensorflow.SavedModel: ${invalid}`);
  return type.encode(type.fromObject(message)).finish();
}

/** The frozen inference graph with its "serving_default" signature: frames -> prediction. */
export function encodeSavedModel(graph: InferenceGraph): Uint8Array {
  return encodeGraphSavedModel(graph.nodes, {
    [SERVING_SIGNATURE]: {
      inputs: { [SIGNATURE_INPUT]: graph.input },
      outputs: { [SIGNATURE_OUTPUT]: graph.output },
    },
  });
}
