import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isUserError } from "@shortened/contracts";
import { encodeRequest } from "./encode.js";
import { hellaSwagPreprocess, pyCapitalize, pyLen } from "./formats.js";
import { loadTask, parseTaskNames } from "./registry.js";

const hellaswagFile = fileURLToPath(new URL("./fixtures/hellaswag_val.jsonl", import.meta.url));
const userError = (re: RegExp) => (e: unknown) => isUserError(e) && re.test((e as Error).message);

test("task names: unknown names are a UserError; empty means all seven", () => {
  assert.deepEqual(parseTaskNames("arc_easy, piqa"), ["arc_easy", "piqa"]);
  assert.equal(parseTaskNames(undefined).length, 7);
  assert.throws(() => parseTaskNames("arc_easy,mmlu"), userError(/unknown task "mmlu"/));
});

test("a malformed task line names the file and line", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "zs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, "arc_easy_test.jsonl"),
    '{"question":"q","choices":["a","b"],"label":0}\n{"question": "q2", oops}\n',
  );
  assert.throws(() => loadTask("arc_easy", dir), userError(/arc_easy_test\.jsonl line 2: not valid JSON/));
  writeFileSync(
    join(dir, "winogrande_xl_dev.jsonl"),
    '{"sentence":"no blank here","option1":"a","option2":"b","answer":"1"}\n',
  );
  assert.throws(() => loadTask("winogrande", dir), userError(/line 1: .*blank/));
  writeFileSync(join(dir, "arc_challenge_test.jsonl"), '{"question":"q","choices":["a","b"],"label":5}\n');
  assert.throws(() => loadTask("arc_challenge", dir), userError(/out of range/));
  assert.throws(() => loadTask("piqa", dir), userError(/no data for task piqa/));
  // --limit reads only the first documents, so a bad line after them is not reached
  assert.equal(loadTask("arc_easy", dir, 1).items.length, 1);
});

test("HellaSwag: harness text cleanup and prompt on the hand-written sample", () => {
  // strip first, then the bracket removal: a leading "[header]" leaves a leading space, as in the harness
  assert.equal(
    hellaSwagPreprocess(" [header] How to x [title] Do y.  Now [step] go "),
    " How to x. Do y. Now go",
  );
  assert.equal(pyCapitalize("push a finger INTO the soil"), "Push a finger into the soil");
  const { items } = TASK(loadTask("hellaswag", "", undefined, hellaswagFile));
  assert.equal(items.length, 5);
  const second = items[1]!;
  assert.equal(
    second.requests[0]!.context,
    "Home and Garden: How to water a cactus. Check the soil first. push a finger into the soil",
  ); // capitalize() saw "[" first
  assert.equal(second.requests[0]!.continuation, "  If it is dry, water it slowly.");
  assert.deepEqual(second.choiceChars, [31, 40, 33, 39]);
  // empty ctx_b: "ctx_a " + "" then strip
  assert.equal(items[3]!.requests[0]!.context, "Washing hands: A child stands at a sink.");
  assert.equal(items[3]!.requests[0]!.continuation, " The child turns on the water and uses soap.");
});
const TASK = <T>(t: T) => t;

test("formats: ARC / PIQA / BoolQ / WinoGrande requests as lm-eval builds them", () => {
  const data = fileURLToPath(new URL("../../../../data/zeroshot", import.meta.url));
  const arc = loadTask("arc_challenge", data, 1).items[0]!;
  assert.match(arc.requests[0]!.context, /^Question: An astronomer .*\?\nAnswer:$/);
  assert.equal(arc.requests[2]!.continuation, " Planetary days will become shorter.");
  assert.equal(arc.gold, 2);
  const piqa = loadTask("piqa", data, 2).items[1]!;
  assert.equal(piqa.requests[0]!.continuation, " replace drawer with bobby pin "); // trailing space kept
  assert.equal(piqa.choiceChars![0], 30);
  const boolq = loadTask("boolq", data, 1);
  assert.equal(
    boolq.items[0]!.requests[1]!.context,
    "\nQuestion: does ethanol take more energy make that produces?\nAnswer:",
  );
  assert.equal(boolq.items[0]!.gold, 0);
  assert.match(boolq.notes[0]!, /no passage/);
  const wino = loadTask("winogrande", data, 1).items[0]!;
  assert.deepEqual(wino.requests, [
    {
      context: "Sarah was a much better surgeon than Maria so Sarah",
      continuation: " always got the easier cases.",
    },
    {
      context: "Sarah was a much better surgeon than Maria so Maria",
      continuation: " always got the easier cases.",
    },
  ]);
  assert.equal(wino.gold, 1);
  assert.equal(pyLen("é😀"), 2);
});

test("encodeRequest: trailing context spaces move to the continuation; empty context is end-of-text", () => {
  const calls: string[] = [];
  const tok = {
    eosId: 2,
    encode: (s: string) => {
      calls.push(s);
      return [...s].map((ch) => ch.charCodeAt(0));
    },
  };
  const r = encodeRequest(tok, { context: "ab  ", continuation: "c" });
  assert.deepEqual(calls, ["ab  c", "ab"]);
  assert.deepEqual(r, { contextIds: [97, 98], continuationIds: [32, 32, 99] });
  assert.deepEqual(encodeRequest(tok, { context: "", continuation: "x" }), {
    contextIds: [2],
    continuationIds: [120],
  });
});
