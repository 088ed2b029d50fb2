import fs from 'node:fs';
import protobuf from 'protobufjs';
import type { InferenceGraph } from './layersToGraph.js';

/** The signature tfjs-node's loadSavedModel looks for by default, and its tag. */
export const SERVING_TAG = 'serve';
export const SERVING_SIGNATURE = 'serving_default';
export const SIGNATURE_INPUT = 'frames';
export const SIGNATURE_OUTPUT = 'prediction';

const DT_FLOAT = 1;
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

const tensorInfo = (name: string, shape: number[]) => ({
  name: `${name}:0`,
  dtype: DT_FLOAT,
  tensor_shape: { dim: shape.map((size) => ({ size })) },
});

/**
 * saved_model.pb of a SavedModel with one MetaGraphDef (tag "serve") holding the frozen graph and a
 * "serving_default" signature: frames -> prediction. Weights are constants in the graph, so the
 * SavedModel has no variables folder, which TensorFlow's loader accepts (it restores nothing).
 */
export function encodeSavedModel(graph: InferenceGraph): Uint8Array {
  const type = savedModelMessage();
  const message = {
    saved_model_schema_version: 1,
    meta_graphs: [
      {
        meta_info_def: { tags: [SERVING_TAG] },
        graph_def: { node: graph.nodes, versions: { producer: GRAPH_DEF_PRODUCER } },
        signature_def: {
          [SERVING_SIGNATURE]: {
            inputs: { [SIGNATURE_INPUT]: tensorInfo(graph.input.name, graph.input.shape) },
            outputs: { [SIGNATURE_OUTPUT]: tensorInfo(graph.output.name, graph.output.shape) },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    ],
  };
  const invalid = type.verify(message);
  if (invalid) throw new Error(`serving graph does not fit tensorflow.SavedModel: ${invalid}`);
  return type.encode(type.fromObject(message)).finish();
}
