// What a context sees of its model (src/model.ts's Model provides both interfaces).
import type { NativeChatTemplates } from "./chat-binding";
import type { DetokenizeOptions, ModelInfo, TokenToPieceOptions, TokenizeOptions, Vocab } from "./model-types";
import type { NativeModel } from "./native-types";
import type { Projector } from "./projector";

/** The model a context was created from, as `ctx.model` shows it (the Model class is one). */
export interface ContextModel {
  readonly path: string;
  readonly info: ModelInfo;
  readonly vocab: Vocab;
  tokenize(text: string, options?: TokenizeOptions): Int32Array;
  detokenize(tokens: Int32Array | readonly number[], options?: DetokenizeOptions): string;
  tokenToPiece(token: number, options?: TokenToPieceOptions): string;
  /** The multimodal projector loaded for the model, if any. */
  readonly projector: Projector | undefined;
}

/** @internal what a context needs from its model besides that */
export interface ContextParent extends ContextModel {
  readonly native: NativeModel;
  /** bytes of the longest token text (NativeVocab.maxTokenBytes) */
  readonly maxTokenBytes: number;
  /** called by the context when it is disposed (the context itself) */
  forgetContext(ctx: object): void;
  chatTemplates(template?: string): Promise<NativeChatTemplates>;
}
