// Bad input is a UserError raised before any compute (issue: the forward engine, point 6).
import { test } from "node:test";
import { modelDir, rejectsWithUserError } from "../test-support/engine-fixtures.js";
import { blockImportance } from "./block-importance.js";

const model = modelDir("llama-gqa"); // vocab 128, max_position_embeddings 2048
const rejects = rejectsWithUserError;

test("importance rejects unequal or short calibration rows, bad ids and unknown criteria", async () => {
  await rejects(
    blockImportance({
      model,
      criterion: "ppl",
      calibIds: [
        [1, 2, 3],
        [1, 2],
      ],
    }),
    /unequal lengths/,
  );
  await rejects(
    blockImportance({ model, criterion: "ppl", calibIds: [[1, 2, 3]], seqLen: 8 }),
    /shorter than `calibration.seqLen`/,
  );
  await rejects(
    blockImportance({ model, criterion: "ppl", calibIds: [[1, 500, 3]] }),
    /outside the vocabulary/,
  );
  await rejects(blockImportance({ model, criterion: "wanda", calibIds: [[1, 2, 3]] }), /unknown criterion/);
  await rejects(blockImportance({ model, criterion: "ppl" }), /calibration source/);
  await rejects(blockImportance({ model, criterion: "angular", group: 9, calibIds: [[1, 2, 3]] }), /`group`/);
});
