// Multimodal projectors: model.loadProjector(path) / loadModel(path, { projector }) → Projector,
// llama.cpp's mtmd (tools/mtmd) on a projector GGUF ("mmproj"). The file is checked here first (a
// readable GGUF of architecture "clip" with a vision or audio encoder), then mtmd loads it on a native
// thread (native/mtmd.cpp). Prompts with media are tokenized by the projector (images and audio are
// decoded there, off the JS thread) and decoded by the context's engine.
import type { NativeMediaPrompt, NativeModel, NativeProjector } from "./binding";
import { binding } from "./binding";
import { DisposedError, InvalidModelFileError } from "./errors";
import { readGgufInfo } from "./gguf";
import { defineOptions, v } from "./options";
import { describe } from "./validate";

const PROJECTOR_TOKEN = Symbol("Projector");

/** The text that stands for one medium in a prompt (mtmd's default marker). */
export const MEDIA_MARKER = "<__media__>";

/** An image or audio clip given to a prompt: the encoded file's bytes (PNG, JPEG, BMP, GIF; WAV, MP3, FLAC). */
export interface MediaInput {
  type: "image" | "audio";
  data: Uint8Array;
}

export interface ProjectorOptions {
  /** CPU threads of the encoder. Default: min(4, cores); an integer in [1, 512]. */
  threads?: number;
  /**
   * Pictures with more pixels (width × height, read from the header before decoding) are refused with
   * InvalidMediaError. Default 67108864 (64 Mi, e.g. 8192 × 8192); an integer in [1, 2^40].
   */
  maxPixels?: number;
  /** Run the encoder on the GPU when the build has one (default true). */
  useGpu?: boolean;
}

/** What a projector takes. */
export interface Modalities {
  vision: boolean;
  audio: boolean;
}

const parseProjectorOptions = defineOptions<ProjectorOptions>("projector options", {
  threads: v.int(1, 512),
  maxPixels: v.int(1, 2 ** 40),
  useGpu: v.bool,
});

/** A multimodal projector loaded for one model (model.loadProjector()). */
export class Projector {
  /** The projector file. */
  readonly path: string;
  /** Which media it encodes. */
  readonly modalities: Readonly<Modalities>;
  /** The sample rate audio is resampled to (Hz), or -1 for a vision-only projector. */
  readonly audioSampleRate: number;
  #native: NativeProjector | undefined;

  /** @internal use model.loadProjector() */
  constructor(native: NativeProjector, path: string, token: symbol) {
    if (token !== PROJECTOR_TOKEN) throw new TypeError("use model.loadProjector() to load a projector");
    this.#native = native;
    this.path = path;
    const i = native.info();
    this.modalities = Object.freeze({ vision: i.vision, audio: i.audio });
    this.audioSampleRate = i.audioSampleRate;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** @internal */
  get native(): NativeProjector {
    if (!this.#native) throw new DisposedError("projector");
    return this.#native;
  }

  /** Frees the encoder once no running generation uses it. Idempotent. */
  dispose(): Promise<void> {
    this.#native?.dispose();
    this.#native = undefined;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/**
 * @internal What model.loadProjector() runs: the GGUF checks of readGgufInfo(), then those that make
 * it a projector (architecture "clip", a vision or audio encoder, a projector type), then mtmd's load.
 */
export async function loadProjector(model: NativeModel, path: string, options: unknown): Promise<Projector> {
  if (typeof path !== "string" || path.length === 0) throw new TypeError(`path must be a non-empty string; got ${describe(path)}`);
  const o = parseProjectorOptions(options ?? {});
  const info = await readGgufInfo(path);
  const md = info.metadata;
  const fail = (msg: string): never => {
    throw new InvalidModelFileError(path, `not a multimodal projector: ${msg}`);
  };
  if (info.architecture !== "clip") fail(`its architecture is ${JSON.stringify(info.architecture)}, not "clip"`);
  const vision = md["clip.has_vision_encoder"] === true;
  const audio = md["clip.has_audio_encoder"] === true;
  if (!vision && !audio) fail("it has neither clip.has_vision_encoder nor clip.has_audio_encoder set to true");
  const type = md["clip.projector_type"] ?? md["clip.vision.projector_type"] ?? md["clip.audio.projector_type"];
  if (typeof type !== "string") fail("it names no projector type (clip.projector_type)");
  const native = await binding().Projector.load(model, path, {
    threads: o.threads ?? Math.min(4, (await import("node:os")).availableParallelism()),
    maxPixels: o.maxPixels ?? 64 * 1024 * 1024,
    useGpu: o.useGpu ?? true,
  });
  return new Projector(native, path, PROJECTOR_TOKEN);
}

const parseMedia = defineOptions<MediaInput>("media item", {
  type: v.oneOf(["image", "audio"] as const),
  data: (value, name) => {
    if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array (the encoded file); got ${describe(value)}`);
    return value;
  },
});

/** @internal Checks a `media` option: an array of { type, data }. */
export function checkMedia(value: unknown, name: string): MediaInput[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of { type, data }; got ${describe(value)}`);
  return value.map((item, i) => {
    const o = parseMedia(item);
    if (o.type === undefined) throw new TypeError(`${name}[${i}].type is required ("image" or "audio")`);
    if (o.data === undefined) throw new TypeError(`${name}[${i}].data is required`);
    return { type: o.type, data: o.data };
  });
}

/** How many media markers `text` holds. */
export function countMarkers(text: string): number {
  let n = 0;
  for (let at = text.indexOf(MEDIA_MARKER); at >= 0; at = text.indexOf(MEDIA_MARKER, at + MEDIA_MARKER.length)) n++;
  return n;
}

/** @internal tokenizes a prompt with media markers (BOS added, special tokens parsed, as prompts are). */
export async function tokenizeMedia(projector: Projector, text: string, media: readonly MediaInput[]): Promise<NativeMediaPrompt> {
  const markers = countMarkers(text);
  if (markers !== media.length) {
    throw new RangeError(
      `the prompt has ${markers} media marker${markers === 1 ? "" : "s"} (${MEDIA_MARKER}) but ${media.length} media were given`,
    );
  }
  return projector.native.tokenize(
    text,
    media.map((m) => ({ audio: m.type === "audio", data: m.data })),
    true,
    true,
  );
}

/** @internal */
export function isProjector(value: unknown): value is Projector {
  return value instanceof Projector;
}
