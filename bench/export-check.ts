// The exported decoder of a large checkpoint against the engine: greedy tokens of one prompt through the
// export in a fresh ONNX Runtime session (external data over 2 GB) and through the engine's generator.
//   node --conditions=development --import tsx bench/export-check.ts MODEL_DIR EXPORT_DIR [STEPS] [DTYPE]
import { greedyOnnx, KvGenerator } from "@shortened/engine";

const [model, exported, stepsArg, dtypeArg] = process.argv.slice(2);
if (!model || !exported) throw new Error("usage: export-check.ts MODEL_DIR EXPORT_DIR [STEPS] [DTYPE]");
const steps = Number(stepsArg ?? 4);
const dtype = (dtypeArg ?? "float32") as "float32" | "float16";
const prompt = [1, 450, 4996, 17354, 1701, 432, 17204, 975];
const threads = 2;

let t = performance.now();
const gen = await KvGenerator.open(model, { threads, dtype });
const engine = (await gen.generate([prompt], { doSample: false, maxNewTokens: steps, ignoreEos: true }))
  .tokens[0]!;
await gen.release();
const engineS = (performance.now() - t) / 1000;
t = performance.now();
const onnx = (await greedyOnnx(exported, [prompt], steps, { threads }))[0]!;
const onnxS = (performance.now() - t) / 1000;
console.log(
  JSON.stringify({
    engine,
    onnx,
    equal: JSON.stringify(engine) === JSON.stringify(onnx),
    engineS: Number(engineS.toFixed(1)),
    onnxS: Number(onnxS.toFixed(1)),
    maxRssGB: Number((process.resourceUsage().maxRSS / 1048576).toFixed(2)),
  }),
);
