// Checkpoint weights handed to ONNX Runtime where they lie. A large graph used to go to ORT through a temporary
// folder holding the whole model's weights (float32: 4.4 GB for a 1.1B BF16 checkpoint, per session). Instead its
// checkpoint tensors become external data that points into the safetensors files themselves (location, offset,
// length), and ORT reads them from there: no copy on disk, no copy in JavaScript.
// - ORT 1.29 refuses absolute external-data paths and paths that resolve (symlinks too) outside the model's
//   folder; a model loaded from a buffer takes that folder from the session option
//   `session.model_external_initializers_file_folder_path`, so the folder is the checkpoint's and the locations
//   are the shard file names. One folder per session: tensors of another folder keep their `read`. The folder and
//   names are the files' real paths, since a Hugging Face cache snapshot is a folder of symlinks into `blobs/`.
// - Only float32 tensors stored as float32. A weight read through a Transpose keeps the Transpose, which ORT folds
//   while it builds the session, one tensor at a time, before MLAS prepacks it (100M float32 eval ppl: the same
//   peak, 0.61–0.63 against 0.60–0.65 GiB). A dtype change is not made here: ORT folding a Cast of the stored
//   tensor held the cast copies beside the folded ones (10 BF16 linears of 2048 × 5632, 440 MB in float32:
//   1046 MB peak with Cast + Transpose folded, 734 MB with Cast into a FusedMatMul, 401 MB from today's float32
//   file), and float16 weights are not prepacked, so a folded Transpose of theirs leaves its source in the heap
//   (./pretranspose.ts). Such graphs take the temporary file (./session.ts).
// Safetensors offsets are not page aligned, so ORT reads each tensor into a buffer rather than mapping it.
import { realpathSync } from "node:fs";
import { basename, dirname } from "node:path";
import { type GraphBuilder, tensorBytes } from "./builder.js";

/** The ORT session config key that names the folder external data is read from for a model given as bytes. */
export const EXTERNAL_FOLDER_KEY = "model_external_initializers_file_folder_path";

/** Marks the initializers stored in one checkpoint folder as references into their files and returns that folder;
 *  null, and `g` unchanged, when no initializer is stored in a file, when one stored there is not float32 stored
 *  as float32, or when the other initializers, which go inside the model bytes, total `inlineLimitBytes` or more. */
export function referStoredWeights(g: GraphBuilder, inlineLimitBytes: number): string | null {
  const realPaths = new Map<string, string>();
  const realPath = (file: string) => {
    const known = realPaths.get(file);
    if (known !== undefined) return known;
    const real = realPathOf(file);
    realPaths.set(file, real);
    return real;
  };
  let folder: string | null = null;
  for (const t of g.initializers.values()) if (t.stored) folder ??= dirname(realPath(t.stored.file));
  if (folder === null) return null;
  const inFolder = (name: string) => {
    const stored = g.initializers.get(name)!.stored;
    return stored !== undefined && dirname(realPath(stored.file)) === folder;
  };
  let inlineBytes = 0;
  for (const [name, t] of g.initializers) {
    if (!inFolder(name)) inlineBytes += tensorBytes(t);
    else if (t.type !== "float32" || t.stored!.type !== "float32") return null;
  }
  if (inlineBytes >= inlineLimitBytes) return null;
  for (const [name, t] of g.initializers) {
    if (!inFolder(name)) continue;
    const external = { location: basename(realPath(t.stored!.file)), offset: t.stored!.offset };
    g.initializers.set(name, { ...t, data: new Float32Array(0), read: undefined, external });
  }
  return folder;
}

/** The file's real path; the path as given when it cannot be resolved (ORT then names the missing file). */
function realPathOf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}
