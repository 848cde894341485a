// GGUF header reader and structural validator, in plain TypeScript (no weights are read).
//
// Every count, length, offset and type is checked against the file before it is trusted, so a
// hostile header produces an InvalidModelFileError here rather than a huge allocation or an
// assertion inside llama.cpp. loadModel() runs this before handing a file to llama.cpp.
import fs from "node:fs";
import { promisify } from "node:util";
import { InvalidModelFileError } from "../errors";
import { defineOptions, v } from "../options";
import { checkModelMetadata } from "./metadata";
import {
  CompactArray,
  GGML_MAX_DIMS,
  GGML_TYPES,
  GGUF_MAGIC,
  type GgufInfo,
  type GgufTensorInfo,
  type GgufValue,
  GgufValueType,
  type ReadGgufOptions,
} from "./types";

const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_KEY_BYTES = 65536;
/** Arrays at least this long are left in the file's bytes by validateModelFile (CompactArray). */
const COMPACT_MIN_LENGTH = 64;

/** Thrown when the parse needs more of the file than has been read; the caller reads more and retries. */
class NeedMore {
  constructor(readonly upTo: number) {}
}

/** Synchronous reader over the first `buf.length` bytes of a file of `size` bytes. */
class Reader {
  pos = 0;

  constructor(
    private readonly buf: Buffer,
    readonly size: number,
    private readonly fail: (msg: string) => never,
  ) {}

  remaining(): number {
    return this.size - this.pos;
  }

  private ensure(n: number, what: string): void {
    if (n > this.remaining()) {
      this.fail(`${what} at offset ${this.pos} needs ${n} bytes but the file ends after ${this.remaining()}`);
    }
    if (this.pos + n > this.buf.length) throw new NeedMore(this.pos + n);
  }

  u32(what: string): number {
    this.ensure(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.ensure(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  /**
   * A u64 count that must fit in the rest of the file at `minBytesEach` bytes per item. `suffix` is
   * added to `what` in an error only: this runs once per string of a vocabulary, and building the
   * name or a BigInt each time made megabytes of garbage (V8 then grew its young generation).
   */
  count(what: string, minBytesEach: number, suffix = ""): number {
    const at = this.pos;
    if (8 > this.remaining() || at + 8 > this.buf.length) this.ensure(8, `${what}${suffix}`);
    const lo = this.buf.readUInt32LE(at);
    const hi = this.buf.readUInt32LE(at + 4);
    // hi * 2^32 + lo is exact below 2^53; above, the count is larger than any file anyway
    const v = hi * 2 ** 32 + lo;
    this.pos += 8;
    const max = Math.floor(this.remaining() / Math.max(1, minBytesEach));
    if (hi >= 2 ** 21 || v > max) {
      this.fail(
        `${what}${suffix} at offset ${at} is ${this.buf.readBigUInt64LE(at)}, more than the ${this.remaining()} bytes left can hold`,
      );
    }
    return v;
  }
  /** Checks a string's length and steps over its bytes without decoding them. */
  skipStr(what: string): void {
    const n = this.count(what, 1, " length");
    this.ensure(n, what);
    this.pos += n;
  }
  /** Checks that `n` items of `bytesEach` bytes are there and steps over them. */
  skip(n: number, bytesEach: number, what: string): void {
    this.ensure(n * bytesEach, what);
    this.pos += n * bytesEach;
  }
  get buffer(): Buffer {
    return this.buf;
  }
  str(what: string, maxBytes = Number.MAX_SAFE_INTEGER): string {
    const at = this.pos;
    const n = this.count(what, 1, " length");
    if (n > maxBytes) this.fail(`${what} at offset ${at} is ${n} bytes long (at most ${maxBytes})`);
    this.ensure(n, what);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type: GgufValueType, what: string): GgufValue {
    if (type === GgufValueType.STRING) return this.str(what);
    const n = SCALAR_BYTES[type];
    if (n === undefined) return this.fail(`${what} has unknown value type ${type}`);
    this.ensure(n, what);
    const o = this.pos;
    this.pos += n;
    const b = this.buf;
    switch (type) {
      case GgufValueType.UINT8:
        return b.readUInt8(o);
      case GgufValueType.INT8:
        return b.readInt8(o);
      case GgufValueType.BOOL: {
        const v = b.readUInt8(o);
        if (v > 1) this.fail(`${what} is a bool stored as ${v}`);
        return v === 1;
      }
      case GgufValueType.UINT16:
        return b.readUInt16LE(o);
      case GgufValueType.INT16:
        return b.readInt16LE(o);
      case GgufValueType.UINT32:
        return b.readUInt32LE(o);
      case GgufValueType.INT32:
        return b.readInt32LE(o);
      case GgufValueType.FLOAT32:
        return b.readFloatLE(o);
      case GgufValueType.UINT64:
        return narrow(b.readBigUInt64LE(o));
      case GgufValueType.INT64:
        return narrow(b.readBigInt64LE(o));
      default:
        return b.readDoubleLE(o);
    }
  }
}

const SCALAR_BYTES: Partial<Record<number, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const MIN_VALUE_BYTES: Record<number, number> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  8: 8,
  9: 12,
  10: 8,
  11: 8,
  12: 8,
};

function readValue(r: Reader, type: number, what: string, onArrayType?: (t: GgufValueType) => void, compact = false): GgufValue {
  if (type !== GgufValueType.ARRAY) return r.scalar(type as GgufValueType, what); // fails on unknown types
  const elemType = r.u32(`${what} element type`);
  onArrayType?.(elemType as GgufValueType);
  if (!(elemType in MIN_VALUE_BYTES)) return r.scalar(elemType as GgufValueType, `${what} element`);
  if (elemType === GgufValueType.ARRAY) {
    // llama.cpp's gguf reader does not support arrays of arrays either.
    return r.scalar(255 as GgufValueType, `${what} (an array of arrays)`);
  }
  const n = r.count(what, MIN_VALUE_BYTES[elemType]!, " array length");
  if (compact && n >= COMPACT_MIN_LENGTH && elemType !== GgufValueType.BOOL) {
    const start = r.pos;
    if (elemType === GgufValueType.STRING) for (let i = 0; i < n; i++) r.skipStr(what);
    else r.skip(n, SCALAR_BYTES[elemType]!, what);
    return new CompactArray(elemType as GgufValueType, n, start, r.buffer) as unknown as GgufValue;
  }
  const out: GgufValue[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = r.scalar(elemType as GgufValueType, what);
  return out;
}

function parse(path: string, buf: Buffer, size: number, wantTensors: boolean, fail: (msg: string) => never, compact = false): GgufInfo {
  const r = new Reader(buf, size, fail);
  if (size < 24) fail(`the file is ${size} bytes, too short for a GGUF header (24 bytes)`);
  const magic = r.u32("magic");
  if (magic !== GGUF_MAGIC) {
    fail(`bad magic 0x${magic.toString(16).padStart(8, "0")} (a GGUF file starts with "GGUF")`);
  }
  const version = r.u32("version");
  if (version !== 2 && version !== 3) {
    fail(`GGUF version ${version} is not supported (versions 2 and 3 are)`);
  }
  const nTensors = r.count("tensor count", 8 + 4 + 8 + 4 + 8);
  const nKv = r.count("metadata key/value count", 8 + 1 + 4 + 1);

  const metadata: Record<string, GgufValue> = Object.create(null);
  const metadataTypes: Record<string, GgufValueType> = Object.create(null);
  const metadataArrayTypes: Record<string, GgufValueType> = Object.create(null);
  for (let i = 0; i < nKv; i++) {
    const key = r.str(`metadata key #${i}`, MAX_KEY_BYTES);
    if (key in metadata) fail(`duplicate metadata key '${key}'`);
    const type = r.u32(`type of '${key}'`);
    metadata[key] = readValue(r, type, `metadata '${key}'`, (t) => (metadataArrayTypes[key] = t), compact);
    metadataTypes[key] = type as GgufValueType;
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if ("general.alignment" in metadata) {
    if (metadataTypes["general.alignment"] !== GgufValueType.UINT32) {
      fail(`general.alignment must be stored as a u32 (found value type ${metadataTypes["general.alignment"]})`);
    }
    alignment = metadata["general.alignment"] as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) fail(`general.alignment ${alignment} is not a power of two`);
  }

  const tensors: GgufTensorInfo[] = [];
  const ends: bigint[] = []; // end of each tensor relative to the data section
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = r.str(`tensor #${i} name`, 64 * 1024);
    if (names.has(name)) fail(`duplicate tensor '${name}'`);
    names.add(name);
    const nDims = r.u32(`tensor '${name}' dimension count`);
    if (nDims > GGML_MAX_DIMS) fail(`tensor '${name}' has ${nDims} dimensions (at most ${GGML_MAX_DIMS})`);
    const shape: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const dim = r.u64(`tensor '${name}' dimension ${d}`);
      if (dim > BigInt(Number.MAX_SAFE_INTEGER)) fail(`tensor '${name}' dimension ${d} is ${dim}`);
      elements *= dim;
      if (elements > BigInt(Number.MAX_SAFE_INTEGER)) fail(`tensor '${name}' element count overflows`);
      shape.push(Number(dim));
    }
    const type = r.u32(`tensor '${name}' type`);
    const traits = GGML_TYPES[type];
    if (!traits) fail(`tensor '${name}' has unknown ggml type ${type}`);
    const [typeName, blck, typeSize] = traits!;
    if (shape.length > 0 && shape[0]! % blck !== 0) {
      fail(`tensor '${name}' row of ${shape[0]} elements is not a multiple of ${typeName}'s block size ${blck}`);
    }
    const sizeBytes = (elements / BigInt(blck)) * BigInt(typeSize);
    const offset = r.u64(`tensor '${name}' offset`);
    if (offset % BigInt(alignment) !== 0n) fail(`tensor '${name}' offset ${offset} is not a multiple of the alignment ${alignment}`);
    tensors.push({ name, shape, type, typeName, offset: Number(narrow(offset)), sizeBytes: Number(narrow(sizeBytes)) });
    ends.push(offset + sizeBytes);
  }
  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  tensors.forEach((t, i) => {
    const end = BigInt(dataOffset) + ends[i]!;
    if (end > BigInt(size)) {
      fail(`tensor '${t.name}' (${t.typeName}, ${t.shape.join("x")}) ends at byte ${end}, past the end of the file (${size} bytes)`);
    }
  });
  const arch = metadata["general.architecture"];
  return {
    path,
    version,
    fileSize: size,
    alignment,
    dataOffset,
    metadata,
    metadataTypes,
    metadataArrayTypes,
    tensors: wantTensors ? tensors : [],
    architecture: typeof arch === "string" ? arch : undefined,
  };
}

const parseReadOptions = defineOptions<ReadGgufOptions>("readGgufInfo options", { tensors: v.bool });

/**
 * Reads a GGUF file's header, metadata and tensor table without loading weights, and checks that
 * they describe a file llama.cpp can read: magic, version, bounded counts and lengths, known value
 * and tensor types, at most 4 dimensions, no element-count overflow, tensors inside the file,
 * a power-of-two alignment stored as u32. Throws InvalidModelFileError naming the problem.
 */
export async function readGgufInfo(path: string, options: ReadGgufOptions = {}): Promise<GgufInfo> {
  const tensors = parseReadOptions(options).tensors ?? true;
  return readHeader(path, 8 << 20, (buf, size, fail) => parse(path, buf, size, tensors, fail));
}

/**
 * What loadModel() and quantize() run before llama.cpp sees a file: readGgufInfo()'s checks and
 * checkModelMetadata()'s, with long metadata arrays left in the file's bytes (CompactArray) instead
 * of turned into JavaScript values. Throws InvalidModelFileError.
 * @internal
 */
export async function validateModelFile(path: string, options: ReadGgufOptions = {}): Promise<void> {
  // 64 KiB holds a small model's whole header; a larger one is read again, as long as it needs. Every
  // byte read here is resident until the next GC, part of the process's peak RSS.
  await readHeader(path, 64 << 10, (buf, size, fail) => checkModelMetadata(parse(path, buf, size, options.tensors !== false, fail, true)));
}

// Opens `path` and runs `parseFn` over a prefix of it, a longer one when the header needs more.
async function readHeader<T>(
  path: string,
  firstRead: number,
  parseFn: (buf: Buffer, size: number, fail: (msg: string) => never) => T,
): Promise<T> {
  if (typeof path !== "string" || path.length === 0) throw new TypeError("path must be a non-empty string");
  const fail = (msg: string): never => {
    throw new InvalidModelFileError(path, msg);
  };
  let fd: number;
  try {
    fd = await fsOpen(path, "r");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT") return fail("no such file");
    if (err.code === "EISDIR") return fail("it is a directory");
    return fail(err.message);
  }
  try {
    const stat = await fsFstat(fd);
    if (!stat.isFile()) fail("not a regular file");
    // Parse synchronously over a prefix of the file; read a larger prefix when the header is longer.
    let want = Math.min(stat.size, firstRead);
    for (;;) {
      const buf = Buffer.allocUnsafe(want);
      const bytesRead = await fsRead(fd, buf, 0, want, 0);
      try {
        return parseFn(buf.subarray(0, bytesRead), stat.size, fail);
      } catch (e) {
        if (!(e instanceof NeedMore) || bytesRead < want) throw e;
        want = Math.min(stat.size, Math.max(want * 4, e.upTo + (1 << 20)));
      }
    }
  } finally {
    await fsClose(fd);
  }
}

// The callback API in promises: node:fs/promises would load readline and the stream modules with
// this file, about a megabyte of every process's RSS for four calls (test/native/programs/lean-load.cjs).
const fsOpen = promisify(fs.open);
const fsFstat = promisify(fs.fstat);
const fsClose = promisify(fs.close);
const fsRead = (fd: number, buf: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
