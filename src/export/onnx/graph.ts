/**
 * A small builder of ONNX graphs, serialised with the ONNX schema that the
 * `onnx-buf` package ships (onnx.proto of ONNX 1.20, compiled by
 * protoc-gen-es) and the `@bufbuild/protobuf` runtime: no hand-built bytes.
 *
 *   const g = new GraphBuilder('encoder');
 *   const x = g.input('pixels', DataType.UINT8, ['batch', 28, 28, 1]);
 *   const w = g.constant('w', Float32Array.from(...), [64, 1, 4, 4]);
 *   const y = g.node('Conv', [x, w], { strides: [2, 2], pads: [1, 1, 1, 1] });
 *   g.output(y, 'indices', DataType.INT32, ['batch', 7, 7]);
 *   const bytes = g.toModel({ docString: '...' });
 *
 * Values are named by the builder (`<op>_<n>`) unless given a name; the
 * graph's inputs and outputs keep the names they are given. Node attributes
 * are typed from their JS value: an integer → INT, a non-integer number →
 * FLOAT, an array of integers → INTS, a string → STRING (so a FLOAT
 * attribute with a whole value cannot be written; none of these graphs has one).
 */
import { create, toBinary, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProto_DataType,
  type AttributeProtoSchema,
  type TensorProtoSchema,
  type ValueInfoProtoSchema,
} from 'onnx-buf';

/** The ONNX element types this project's graphs use. */
export const DataType = {
  FLOAT: TensorProto_DataType.FLOAT,
  UINT8: TensorProto_DataType.UINT8,
  INT32: TensorProto_DataType.INT32,
  INT64: TensorProto_DataType.INT64,
  DOUBLE: TensorProto_DataType.DOUBLE,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/**
 * The operator set the graphs are written for: onnxruntime has run opset 17
 * since 1.14 (2023), and ONNX 1.12's checker accepts it.
 */
export const OPSET = 17;
/** IR version 8 is the lowest that allows opset 17 (ONNX's versioning table). */
export const IR_VERSION = 8;

/** A dimension: a fixed size, or a name for a size given at run time ('batch'). */
export type Dim = number | string;

export type AttributeValue = number | string | readonly number[];

type TensorInit = MessageInitShape<typeof TensorProtoSchema>;
type ValueInfoInit = MessageInitShape<typeof ValueInfoProtoSchema>;
type AttributeInit = MessageInitShape<typeof AttributeProtoSchema>;

export interface ModelMetadata {
  /** What the model does, for the model's doc_string. */
  docString: string;
  /** Extra key/value pairs (metadata_props), e.g. the codebook size. */
  properties?: Record<string, string>;
  producerVersion?: string;
}

export class GraphBuilder {
  private readonly nodes: MessageInitShape<typeof NodeProtoSchema>[] = [];
  private readonly initializers: TensorInit[] = [];
  private readonly inputs: ValueInfoInit[] = [];
  private readonly outputs: ValueInfoInit[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Declares a graph input and returns its name. */
  input(name: string, type: DataType, shape: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /**
   * Makes `value` a graph output called `name` (an Identity node renames
   * it, so an internal value can become an output under a stable name).
   */
  output(value: string, name: string, type: DataType, shape: readonly Dim[]): void {
    this.claim(name);
    this.nodes.push(create(NodeProtoSchema, { opType: 'Identity', input: [value], output: [name], name: `${name}_output` }));
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** A float32 constant (initializer), e.g. a convolution's weights, stored as raw little-endian bytes. */
  constant(name: string, data: Float32Array, shape: readonly number[]): string {
    return this.addInitializer(name, DataType.FLOAT, shape, littleEndian(data, data.length * 4, (view, i) => view.setFloat32(i * 4, data[i]!, true)));
  }

  /** An int64 constant, e.g. the target shape of a Reshape. */
  constantInt64(name: string, data: readonly number[], shape: readonly number[] = [data.length]): string {
    return this.addInitializer(name, DataType.INT64, shape, littleEndian(data, data.length * 8, (view, i) => view.setBigInt64(i * 8, BigInt(data[i]!), true)));
  }

  /** A float64 scalar constant. */
  scalarDouble(name: string, value: number): string {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.addInitializer(name, DataType.DOUBLE, [], bytes);
  }

  /** Adds one node and returns the name of its (single) output. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputName?: string): string {
    if (outputName !== undefined) this.claim(outputName);
    return this.addNode(opType, inputs, attributes, [outputName ?? this.fresh(opType.toLowerCase())])[0]!;
  }

  /** Adds one node with `count` outputs (Split) and returns their names. */
  nodeWithOutputs(opType: string, inputs: readonly string[], count: number, attributes: Record<string, AttributeValue> = {}): string[] {
    const outputs = Array.from({ length: count }, () => this.fresh(opType.toLowerCase()));
    return this.addNode(opType, inputs, attributes, outputs);
  }

  /** The serialised ModelProto: opset OPSET of the default domain, IR_VERSION. */
  toModel(metadata: ModelMetadata): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: BigInt(IR_VERSION),
      opsetImport: [{ domain: '', version: BigInt(OPSET) }],
      producerName: 'vqvae',
      producerVersion: metadata.producerVersion ?? '',
      docString: metadata.docString,
      metadataProps: Object.entries(metadata.properties ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return toBinary(ModelProtoSchema, model);
  }

  private addNode(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue>, outputs: string[]): string[] {
    this.nodes.push(
      create(NodeProtoSchema, {
        opType,
        input: [...inputs],
        output: outputs,
        name: `${outputs[0]}_node`,
        attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
      }),
    );
    return outputs;
  }

  private addInitializer(name: string, dataType: DataType, shape: readonly number[], rawData: Uint8Array<ArrayBuffer>): string {
    this.claim(name);
    this.initializers.push({ name, dataType, dims: shape.map((d) => BigInt(d)), rawData });
    return name;
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: the name ${name} is used twice`);
    this.names.add(name);
  }
}

function littleEndian<T>(data: ArrayLike<T>, byteLength: number, set: (view: DataView, i: number) => void): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < data.length; i++) set(view, i);
  return bytes;
}

function valueInfo(name: string, elemType: DataType, shape: readonly Dim[]): ValueInfoInit {
  return {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: {
            dim: shape.map((d) =>
              typeof d === 'number' ? { value: { case: 'dimValue', value: BigInt(d) } } : { value: { case: 'dimParam', value: d } },
            ),
          },
        },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): AttributeInit {
  if (typeof value === 'string') {
    return { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) }
      : { name, type: AttributeProto_AttributeType.FLOAT, f: value };
  }
  if (!value.every((v) => Number.isInteger(v))) throw new Error(`ONNX attribute ${name}: only integer lists are supported`);
  return { name, type: AttributeProto_AttributeType.INTS, ints: value.map((v) => BigInt(v)) };
}
