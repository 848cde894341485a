// Types of the model's public surface that other modules (a context) refer to, kept apart from the
// Model class so that those modules need not import it.
import type { ModelDevicePlacement, NativeModelInfo } from "./native-types";

export type { ModelDevicePlacement };

/** Facts about a loaded model, as llama.cpp reports them (see NativeModelInfo for each field). */
export type ModelInfo = Readonly<NativeModelInfo> & {
  /** Which media prompts may hold: those of the projector loaded with model.loadProjector() (none without one). */
  readonly modalities: Readonly<{ vision: boolean; audio: boolean }>;
};

export interface Vocab {
  /** beginning-of-sequence token, or -1 when the vocabulary has none */
  readonly bos: number;
  /** end-of-sequence token, or -1 */
  readonly eos: number;
  /** end-of-turn token, or -1 */
  readonly eot: number;
  /** number of tokens */
  readonly size: number;
  /** separator token (BERT's [SEP]), or -1 */
  readonly sep: number;
  /** whether tokenize() with addSpecial adds BOS */
  readonly addBos: boolean;
  /** whether tokenize() with addSpecial adds EOS */
  readonly addEos: boolean;
  /** whether the vocabulary puts SEP between the two texts of a pair (BERT-style vocabularies; llama_vocab_get_add_sep) */
  readonly addSep: boolean;
  /** true for end-of-generation tokens (EOS, EOT and the model's other stop tokens) */
  isEog(token: number): boolean;
}

export interface TokenizeOptions {
  /** Add BOS/EOS as the vocabulary asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as "<s>" into the special token (default false). */
  parseSpecial?: boolean;
}

export interface TokenToPieceOptions {
  /** Render special tokens as their text (default true). */
  special?: boolean;
}

export interface DetokenizeOptions {
  /** Drop a leading BOS / trailing EOS that tokenize() would have added (default false). */
  removeSpecial?: boolean;
  /** Render special tokens as their text (default false). */
  unparseSpecial?: boolean;
}
