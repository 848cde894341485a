// llama-native tokenize: token ids (and pieces) of a text.
import { type Command, parse } from "./args";
import { readStdin } from "./model-flags";
import { loadModel } from "../index";
import { UsageError } from "./args";

export const tokenize: Command = {
  name: "tokenize",
  summary: "token ids of a text (argument or stdin)",
  usage: `llama-native tokenize -m MODEL [TEXT] [options]
    Prints the token ids of TEXT (or of stdin), one JSON array; loads only the vocabulary.
    -m, --model FILE      the GGUF model (required)
    --pieces              print [id, piece] pairs instead of ids
    --no-bos              do not add BOS/EOS as the vocabulary asks
    --parse-special       turn special-token text such as <s> into the special token`,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      {
        model: { type: "string", short: "m" },
        pieces: { type: "boolean" },
        "no-bos": { type: "boolean" },
        "parse-special": { type: "boolean" },
      },
      true,
    );
    if (typeof values.model !== "string") throw new UsageError("--model FILE is required");
    if (positionals.length > 1) throw new UsageError("give the text as one argument (quote it), or on stdin");
    const text = positionals[0] ?? (await readStdin());
    const model = await loadModel(values.model, { vocabOnly: true });
    try {
      const ids = model.tokenize(text, { addSpecial: !values["no-bos"], parseSpecial: values["parse-special"] === true });
      const out = values.pieces ? Array.from(ids, (id) => [id, model.tokenToPiece(id)]) : Array.from(ids);
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } finally {
      await model.dispose();
    }
    return 0;
  },
};
