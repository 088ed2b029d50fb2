/** A NodeDef of tensorflow.proto as protobufjs takes it (snake_case fields, attr values by their oneof name). */
export interface GraphNode {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, Record<string, unknown>>;
}

export const DT_FLOAT = 1;
export const DT_INT32 = 3;
export const DT_UINT8 = 4;
export const DT_STRING = 7;
export const DT_BOOL = 10;
export const FLOAT = { type: DT_FLOAT };

export class UnsupportedModelError extends Error {
  readonly code = 'unsupported_model';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

export const bytes = (text: string) => Buffer.from(text, 'utf8');
export const shapeAttr = (shape: number[]) => ({ dim: shape.map((size) => ({ size })) });
/** An input that only orders: the node runs after `name`, without reading its output. */
export const after = (name: string) => `^${name}`;

/** Collects the nodes of one GraphDef under unique, TensorFlow-legal names. */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly used = new Set<string>();

  add(name: string, op: string, input: string[], attr: GraphNode['attr'] = {}): string {
    let unique = name.replace(/[^A-Za-z0-9_.\-/]/g, '_');
    for (let i = 1; this.used.has(unique); i++) unique = `${name}_${i}`;
    this.used.add(unique);
    this.nodes.push({ name: unique, op, input, attr });
    return unique;
  }

  /** A constant; with `waitFor`, it is there only once those nodes have run. */
  constant(name: string, shape: number[], data: Float32Array | Int32Array, waitFor: string[] = []): string {
    const dtype = data instanceof Float32Array ? DT_FLOAT : DT_INT32;
    return this.add(name, 'Const', waitFor.map(after), {
      dtype: { type: dtype },
      value: {
        tensor: { dtype, tensor_shape: shapeAttr(shape), tensor_content: Buffer.from(data.buffer, data.byteOffset, data.byteLength) },
      },
    });
  }

  scalar(name: string, value: number, waitFor: string[] = []): string {
    return this.constant(name, [], Float32Array.of(value), waitFor);
  }

  /** A session variable (state kept between runs); an unset shape takes whatever it is assigned. */
  variable(name: string, shape: number[] | undefined, dtype = DT_FLOAT): string {
    return this.add(name, 'VariableV2', [], {
      shape: { shape: shape ? shapeAttr(shape) : { unknown_rank: true } },
      dtype: { type: dtype },
      container: { s: Buffer.alloc(0) },
      shared_name: { s: Buffer.alloc(0) },
    });
  }

  /** Sets a variable; `validateShape` false lets the value give it a new shape. */
  assign(name: string, variable: string, value: string, { dtype = DT_FLOAT, validateShape = true } = {}): string {
    return this.add(name, 'Assign', [variable, value], {
      T: { type: dtype },
      validate_shape: { b: validateShape },
      use_locking: { b: true },
    });
  }
}
