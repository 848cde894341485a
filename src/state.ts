// Sequence state save and restore, in llama.cpp's sequence-state file format
// (llama_state_seq_save_file / llama_state_seq_load_file): ctx.saveState/loadState/getState/setState
// and the same on Sequence objects.
// node:fs/promises is reached through fs.promises when called, not loaded with the package.
import nodeFs from "node:fs";
import { InvalidStateError } from "./errors";
import { defineOptions, v } from "./options";

export interface StateOptions {
  /** The KV sequence to save or restore (a number; a Sequence object saves its own). Default 0. */
  sequence?: number;
}

export const parseStateOptions = defineOptions<StateOptions>("state options", { sequence: v.int(0, 255) });

/** @internal reads a state file for setState, as a typed error when it cannot be read */
export async function readStateFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await nodeFs.promises.readFile(path));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new InvalidStateError(`cannot read the state file ${path}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
  }
}
