export {
  Checkpoint,
  INDEX_FILE,
  layerWeight,
  parseLayerName,
  type ShardIndex,
  SINGLE_FILE,
} from "./checkpoint.js";
export {
  type OutputDtype,
  storedModelDtype,
  type WriteCheckpointOptions,
  writeHfCheckpoint,
} from "./checkpoint-writer.js";
export { CLASS_DEFAULTS, type ModelConfig, type ModelType, parseConfig, readConfig } from "./config.js";
export { CONFIG_BOUNDS, SUPPORTED_ACTIVATIONS } from "./config-bounds.js";
export {
  DATASET_NAMES,
  type DatasetName,
  type EvalText,
  evalDataDir,
  isDatasetName,
  loadEvalText,
  ptbRows,
} from "./datasets.js";
export {
  bytesToFloat32,
  DTYPE_BYTES,
  float32ToBf16Bytes,
  float32ToF16Bytes,
  float32ToStoredBytes,
  halfToFloat,
  isFloatDtype,
  type StoredDtype,
} from "./dtypes.js";
export {
  GPTQ_BITS,
  type GptqBits,
  type GptqCheckpointFormat,
  type GptqConfig,
  gptqShapeProblem,
  groupCount,
  PAPER_GPTQ,
  parseQuantizationConfig,
  quantizationConfigJson,
} from "./gptq-config.js";
export {
  dequantizeGptq,
  type GptqLinear,
  packAlongCols,
  packAlongRows,
  sequentialGroups,
  unpackAlongCols,
  unpackAlongRows,
  zerosFromStored,
  zerosToStored,
} from "./gptq-pack.js";
export { IO_PIECE_BYTES, readAllSync, writeAll, writeAllSync } from "./io-pieces.js";
export { LAYER_TYPES, type LayerType } from "./layer-types.js";
export { checkOutputTarget, writeFolderAtomically } from "./output-folder.js";
export { PRUNING_RECORD, type PruneOptions, type PruneResult, pruneCheckpoint } from "./prune.js";
export { type PrunedModelConfig, prunedConfig, prunedModelConfig, selectBlocks } from "./prune-plan.js";
export { configJsonText, parsePythonJson, pythonJsonDumps } from "./python-json.js";
export { ROPE_TYPES, type RopeScaling, type RopeType } from "./rope-scaling.js";
export { readSafetensorsHeader, type SafetensorsHeader, type TensorEntry } from "./safetensors-header.js";
export {
  encodeSafetensorsHeader,
  SafetensorsStreamWriter,
  type TensorData,
  type TensorSpec,
  tensorByteLength,
  writeSafetensors,
} from "./safetensors-writer.js";
export * from "./tasks/index.js";
export { type NamedTensor, readTensorFile, writeTensorFile } from "./tensor-file.js";
export {
  type BlockTensor,
  blockTensorLayout,
  blockTensorName,
  checkTensorLayout,
  EMBEDDING,
  FINAL_NORM,
  GPTQ_TENSORS,
  type LlamaBiases,
  LM_HEAD,
  llamaBlockTensors,
  storedTensorLayout,
  tensorLayout,
} from "./tensor-layout.js";
export { loadTokenizer, METASPACE_SPLIT, metaspaceSplitIsSafe, type TextTokenizer } from "./tokenizer.js";
export { type WidthPruneOptions, type WidthPruneResult, widthPrune } from "./width-prune.js";
