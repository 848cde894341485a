// A small GGUF (version 3) writer: metadata of any type, F32/F16 tensors. The test suite and the
// benchmarks use it to write their own random-weight models with a real vocabulary.
// node:fs/promises is reached through fs.promises when called, not loaded with the package.
import nodeFs from "node:fs";
import { GGML_TYPES, GgufValueType, type GgufValue } from "./gguf";

export interface GgufWriteValue {
  key: string;
  type: GgufValueType;
  /** element type when `type` is ARRAY */
  arrayType?: GgufValueType;
  value: GgufValue;
}

export interface GgufWriteTensor {
  name: string;
  /** dimensions, innermost first (ggml order) */
  shape: number[];
  /** data is converted from the Float32Array: f32, f16, or quantized q8_0 / q4_0 (rows of 32-multiples) */
  type: "f32" | "f16" | "q8_0" | "q4_0";
  data: Float32Array;
}

/** A tensor written as given: its ggml type id and its bytes (e.g. copied from another GGUF file). */
export interface GgufWriteRawTensor {
  name: string;
  shape: number[];
  /** the ggml type id (GGML_TYPES' keys) */
  typeId: number;
  bytes: Uint8Array;
}

export interface GgufWriteInput {
  metadata: GgufWriteValue[];
  tensors: (GgufWriteTensor | GgufWriteRawTensor)[];
  alignment?: number;
}

class ByteSink {
  parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number | bigint) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: GgufValueType, v: GgufValue) {
    const b = Buffer.alloc(8);
    switch (type) {
      case GgufValueType.UINT8:
        b.writeUInt8(Number(v));
        return this.push(b.subarray(0, 1));
      case GgufValueType.INT8:
        b.writeInt8(Number(v));
        return this.push(b.subarray(0, 1));
      case GgufValueType.BOOL:
        b.writeUInt8(v ? 1 : 0);
        return this.push(b.subarray(0, 1));
      case GgufValueType.UINT16:
        b.writeUInt16LE(Number(v));
        return this.push(b.subarray(0, 2));
      case GgufValueType.INT16:
        b.writeInt16LE(Number(v));
        return this.push(b.subarray(0, 2));
      case GgufValueType.UINT32:
        b.writeUInt32LE(Number(v));
        return this.push(b.subarray(0, 4));
      case GgufValueType.INT32:
        b.writeInt32LE(Number(v));
        return this.push(b.subarray(0, 4));
      case GgufValueType.FLOAT32:
        b.writeFloatLE(Number(v));
        return this.push(b.subarray(0, 4));
      case GgufValueType.UINT64:
        b.writeBigUInt64LE(BigInt(v as number));
        return this.push(b);
      case GgufValueType.INT64:
        b.writeBigInt64LE(BigInt(v as number));
        return this.push(b);
      case GgufValueType.FLOAT64:
        b.writeDoubleLE(Number(v));
        return this.push(b);
      case GgufValueType.STRING:
        return this.str(String(v));
      default:
        throw new RangeError(`cannot write GGUF value type ${type} as a scalar`);
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from single precision, round to nearest even. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const e = (x >>> 23) & 0xff;
  let m = x & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const E = e - 127 + 15;
  if (E >= 0x1f) return sign | 0x7c00;
  if (E <= 0) {
    if (E < -10) return sign;
    m |= 0x800000;
    const shift = 14 - E;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return sign | h;
  }
  let h = (E << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is correct rounding
  return sign | h;
}

// Block quantization as ggml's reference code defines the formats (ggml-quants.c,
// quantize_row_q8_0_ref / quantize_row_q4_0_ref): 32 values per block behind an f16 scale. The
// arithmetic is done in float32 (Math.fround) with C's rounding, so the bytes match llama-quantize's.
const f = Math.fround;
const roundf = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
function quantizeQ8_0(x: Float32Array): Buffer {
  const nb = x.length / 32;
  const out = Buffer.alloc(nb * 34);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = f(amax / 127);
    const id = d ? f(1 / d) : 0;
    out.writeUInt16LE(f32ToF16(d), b * 34);
    for (let j = 0; j < 32; j++) out.writeInt8(roundf(f(x[b * 32 + j]! * id)), b * 34 + 2 + j);
  }
  return out;
}

function quantizeQ4_0(x: Float32Array): Buffer {
  const nb = x.length / 32;
  const out = Buffer.alloc(nb * 18);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[b * 32 + j]!;
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d ? f(1 / d) : 0;
    out.writeUInt16LE(f32ToF16(d), b * 18);
    for (let j = 0; j < 16; j++) {
      const x0 = f(x[b * 32 + j]! * id);
      const x1 = f(x[b * 32 + 16 + j]! * id);
      const q0 = Math.min(15, Math.trunc(f(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(f(x1 + 8.5)));
      out.writeUInt8(q0 | (q1 << 4), b * 18 + 2 + j);
    }
  }
  return out;
}

function tensorBytes(t: GgufWriteTensor): Buffer {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new RangeError(`tensor ${t.name}: data has ${t.data.length} values, shape needs ${n}`);
  if (t.type === "q8_0" || t.type === "q4_0") {
    if (t.shape[0]! % 32 !== 0) throw new RangeError(`tensor ${t.name}: ${t.type} rows must be a multiple of 32 values`);
    return t.type === "q8_0" ? quantizeQ8_0(t.data) : quantizeQ4_0(t.data);
  }
  if (t.type === "f32") return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeUInt16LE(f32ToF16(t.data[i]!), i * 2);
  return out;
}

/** Writes a GGUF v3 file. */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<void> {
  const alignment = input.alignment ?? 32;
  const h = new ByteSink();
  h.u32(0x46554747);
  h.u32(3);
  h.u64(input.tensors.length);
  h.u64(input.metadata.length);
  for (const m of input.metadata) {
    h.str(m.key);
    h.u32(m.type);
    if (m.type === GgufValueType.ARRAY) {
      const arr = m.value as GgufValue[];
      if (m.arrayType === undefined) throw new TypeError(`${m.key}: arrayType is required for arrays`);
      h.u32(m.arrayType);
      h.u64(arr.length);
      for (const v of arr) h.scalar(m.arrayType, v);
    } else {
      h.scalar(m.type, m.value);
    }
  }
  const datas = input.tensors.map((t) =>
    "bytes" in t ? Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength) : tensorBytes(t),
  );
  let offset = 0;
  input.tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of t.shape) h.u64(d);
    const typeId = "bytes" in t ? t.typeId : Number(Object.entries(GGML_TYPES).find(([, v]) => v[0] === t.type)![0]);
    h.u32(typeId);
    h.u64(offset);
    offset += Math.ceil(datas[i]!.length / alignment) * alignment;
  });
  const pad = (n: number) => Buffer.alloc((alignment - (n % alignment)) % alignment);
  h.push(pad(h.length));
  const fh = await nodeFs.promises.open(path, "w");
  try {
    await fh.write(Buffer.concat(h.parts, h.length));
    for (const d of datas) await fh.writev([d, pad(d.length)]);
  } finally {
    await fh.close();
  }
}
