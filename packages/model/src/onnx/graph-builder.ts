/**
 * A tiny ONNX graph assembler over ONNX 1.20's onnx.proto (vendored in proto/onnx,
 * generated with protobuf-es, the same runtime as our own contracts).
 *
 * It only knows what the dense stages need: f32/int64 initializers, nodes
 * with int/float/ints attributes, and typed inputs and outputs with symbolic
 * dims. Names are made unique with a counter, so composing helpers never
 * collide.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AttributeProto_AttributeType,
  ModelProtoSchema,
  TensorProto_DataType,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from "../gen/onnx/onnx_pb.js";

/** ai.onnx opset the graphs target: ORT 1.30 accepts 7–26; 17 keeps ReduceMean's axes an attribute. */
export const ONNX_OPSET = 17;
/** IR version matching opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8n;

export type Dim = number | string;
export type ElementType = "float32" | "int64";
type AttributeValue = number | number[] | { float: number };

const ELEMENT_TYPES: Record<ElementType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  int64: TensorProto_DataType.INT64,
};

function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      value: {
        case: "tensorType",
        value: {
          elemType: ELEMENT_TYPES[type],
          shape: { dim: dims.map((dim) => ({ value: typeof dim === "number" ? { case: "dimValue", value: BigInt(dim) } : { case: "dimParam", value: dim } })) },
        },
      },
    },
  } as unknown as ValueInfoProto;
}

function attribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError(`attribute ${name}: use { float } for non-integers`);
    return { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) } as AttributeProto;
  }
  if (Array.isArray(value)) return { name, type: AttributeProto_AttributeType.INTS, ints: value.map(BigInt) } as AttributeProto;
  return { name, type: AttributeProto_AttributeType.FLOAT, f: value.float } as AttributeProto;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly graphName: string) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, type: ElementType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` a graph output called `name` (an Identity node renames it). */
  output(value: string, name: string, type: ElementType, dims: readonly Dim[]): void {
    this.node("Identity", [value], {}, name);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /**
   * Declares `name`, already a node's output, a graph output as is. Unlike
   * output(), no Identity node copies it: for large outputs produced every
   * run (a KV cache's present.* tensors).
   */
  declareOutput(name: string, type: ElementType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 constant. The bytes are copied, so the caller's array may change afterwards. */
  floatInitializer(prefix: string, dims: readonly number[], data: Float32Array): string {
    const name = this.fresh(prefix);
    const raw = new Uint8Array(data.byteLength);
    raw.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.initializers.push({ name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: raw } as unknown as TensorProto);
    return name;
  }

  /** An int64 constant (shapes, axes, indices). */
  int64Initializer(prefix: string, values: readonly number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push({
      name,
      dims: [BigInt(values.length)],
      dataType: TensorProto_DataType.INT64,
      int64Data: values.map(BigInt),
    } as unknown as TensorProto);
    return name;
  }

  /** Adds a node and returns its (first) output's name. */
  node(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    return this.nodeMulti(opType, inputs, 1, attributes, output === undefined ? undefined : [output])[0]!;
  }

  /** Adds a node with several outputs (Split) and returns their names. */
  nodeMulti(opType: string, inputs: readonly string[], outputCount: number, attributes: Record<string, AttributeValue> = {}, outputs?: string[]): string[] {
    const names = outputs ?? Array.from({ length: outputCount }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
      domain: "",
    } as unknown as NodeProto);
    return names;
  }

  /** Serialised ModelProto, ready for InferenceSession.create(bytes). */
  toBytes(): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: ONNX_IR_VERSION,
      producerName: "sigmaserve",
      opsetImport: [{ domain: "", version: BigInt(ONNX_OPSET) }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    } as never);
    return toBinary(ModelProtoSchema, model);
  }
}
