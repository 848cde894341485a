// Pictures for the multimodal tests and their oracle recorder, made in code and encoded as PNG (a
// minimal encoder: 8-bit RGB, filter 0 on every row, zlib from node:zlib). Deterministic: the same
// bytes on every machine, so a recorded llama.cpp run stays valid (the recorder stores their sha256).
import zlib from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * PNG bytes of a width × height RGB picture; `pixel(x, y)` returns [r, g, b] (0..255).
 * @param {number} width @param {number} height @param {(x: number, y: number) => number[]} pixel
 * @param {{ claimWidth?: number, claimHeight?: number }} [o] header dimensions to write instead (broken files)
 */
export function encodePng(width, height, pixel, o = {}) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let at = 0;
  for (let y = 0; y < height; y++) {
    raw[at++] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      raw[at++] = r;
      raw[at++] = g;
      raw[at++] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.claimWidth ?? width, 0);
  ihdr.writeUInt32BE(o.claimHeight ?? height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // compression
  ihdr[11] = 0; // filter
  ihdr[12] = 0; // no interlace
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk("IHDR", ihdr),
      chunk("IDAT", zlib.deflateSync(raw, { level: 9 })),
      chunk("IEND", Buffer.alloc(0)),
    ]),
  );
}

/** The named test pictures: solid colours, a gradient, a checkerboard, odd sizes, 1 × 1. */
export const TEST_IMAGES = Object.freeze({
  red: () => encodePng(32, 32, () => [230, 20, 20]),
  blue: () => encodePng(32, 32, () => [10, 40, 220]),
  gradient: () => encodePng(48, 40, (x, y) => [Math.round((x * 255) / 47), Math.round((y * 255) / 39), 128]),
  checker: () => encodePng(33, 17, (x, y) => (((x >> 2) + (y >> 2)) & 1 ? [255, 255, 255] : [0, 0, 0])),
  pixel: () => encodePng(1, 1, () => [0, 200, 90]),
  wide: () => encodePng(97, 13, (x, y) => [(x * 37 + y * 11) & 255, (x * 5) & 255, (y * 19) & 255]),
});

/** WAV bytes (16-bit PCM, mono) of `seconds` of a sine tone: audio for the tests. */
export function encodeWav(seconds = 0.25, rate = 16000, hz = 440) {
  const n = Math.round(seconds * rate);
  const b = Buffer.alloc(44 + n * 2);
  b.write("RIFF", 0, "latin1");
  b.writeUInt32LE(36 + n * 2, 4);
  b.write("WAVEfmt ", 8, "latin1");
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write("data", 36, "latin1");
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 12000), 44 + i * 2);
  return new Uint8Array(b);
}
