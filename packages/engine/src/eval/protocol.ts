// What every metric carries so that only like is compared with like: the software that computed it.
import { readFileSync } from "node:fs";
import { ort } from "../graph/session.js";

let cached: string | undefined;

/** "shortened-engine X / onnxruntime-node Y" */
export function softwareVersion(): string {
  if (!cached) {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    cached = `shortened-engine ${pkg.version} / onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common}`;
  }
  return cached;
}
