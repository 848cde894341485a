// GGUF value and tensor types, and what readGgufInfo() returns.
export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** ggml tensor types: [name, elements per block, bytes per block], read off ggml at the vendored revision. */
export const GGML_TYPES: Readonly<Record<number, readonly [string, number, number]>> = {
  0: ["f32", 1, 4],
  1: ["f16", 1, 2],
  2: ["q4_0", 32, 18],
  3: ["q4_1", 32, 20],
  6: ["q5_0", 32, 22],
  7: ["q5_1", 32, 24],
  8: ["q8_0", 32, 34],
  9: ["q8_1", 32, 36],
  10: ["q2_K", 256, 84],
  11: ["q3_K", 256, 110],
  12: ["q4_K", 256, 144],
  13: ["q5_K", 256, 176],
  14: ["q6_K", 256, 210],
  15: ["q8_K", 256, 292],
  16: ["iq2_xxs", 256, 66],
  17: ["iq2_xs", 256, 74],
  18: ["iq3_xxs", 256, 98],
  19: ["iq1_s", 256, 50],
  20: ["iq4_nl", 32, 18],
  21: ["iq3_s", 256, 110],
  22: ["iq2_s", 256, 82],
  23: ["iq4_xs", 256, 136],
  24: ["i8", 1, 1],
  25: ["i16", 1, 2],
  26: ["i32", 1, 4],
  27: ["i64", 1, 8],
  28: ["f64", 1, 8],
  29: ["iq1_m", 256, 56],
  30: ["bf16", 1, 2],
  34: ["tq1_0", 256, 54],
  35: ["tq2_0", 256, 66],
  39: ["mxfp4", 32, 17],
  40: ["nvfp4", 64, 36],
  41: ["q1_0", 128, 18],
  42: ["q2_0", 64, 18],
};

export const GGML_MAX_DIMS = 4;
export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** dimensions, innermost first (ggml order) */
  shape: number[];
  type: number;
  typeName: string;
  /** offset from the start of the data section */
  offset: number;
  sizeBytes: number;
}

export interface GgufInfo {
  path: string;
  version: number;
  fileSize: number;
  alignment: number;
  /** absolute file offset of the tensor data section */
  dataOffset: number;
  metadata: Record<string, GgufValue>;
  /** the GGUF value type of each metadata key, for callers that check types */
  metadataTypes: Record<string, GgufValueType>;
  /** the element type of each array-valued key */
  metadataArrayTypes: Record<string, GgufValueType>;
  tensors: GgufTensorInfo[];
  architecture?: string;
}

export interface ReadGgufOptions {
  /** Read the tensor table too (default true). */
  tensors?: boolean;
}

/**
 * A metadata array left in the file's bytes: what loadModel()'s validation reads instead of
 * materializing it (a 128k-token vocabulary with its merges made ~50 MB of JavaScript strings and
 * took ~150 ms). Its values were bounds-checked while stepping over them.
 */
/** @internal */
export class CompactArray {
  constructor(
    readonly elemType: GgufValueType,
    readonly length: number,
    /** offset in `buf` of the first element */
    readonly start: number,
    readonly buf: Buffer,
  ) {}
}
