// Every CLI command, in the order `shortened --help` lists them. Add a command by writing
// commands/<name>.ts with a `register(program)` function and listing it here.
import type { Command } from "commander";
import { register as admin } from "./admin.js";
import { register as bench } from "./bench.js";
import { register as demo } from "./demo.js";
import { register as evaluate } from "./eval.js";
import { register as evalZeroshot } from "./eval-zeroshot.js";
import { register as exportOnnx } from "./export.js";
import { register as generate } from "./generate.js";
import { register as importance } from "./importance.js";
import { register as inspect } from "./inspect.js";
import { register as jobs } from "./jobs.js";
import { register as merge } from "./merge.js";
import { register as models } from "./models.js";
import { register as prune } from "./prune.js";
import { register as pruneWidth } from "./prune-width.js";
import { register as quantize } from "./quantize.js";
import { register as retrain } from "./retrain.js";
import { register as serve } from "./serve.js";
import { register as worker } from "./worker.js";

type Register = (program: Command) => void;
const commands: Register[] = [
  inspect,
  importance,
  prune,
  evaluate,
  evalZeroshot,
  generate,
  bench,
  pruneWidth,
  retrain,
  merge,
  quantize,
  exportOnnx,
  demo,
  models,
  jobs,
  serve,
  worker,
  admin,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
