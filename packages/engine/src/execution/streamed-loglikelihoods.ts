// Zero-shot loglikelihoods block-streamed: the harness's request rows are packed into the same batches as the
// whole-model path (../eval/zeroshot/loglikelihood.ts); the batches of a pass (up to a token budget) are
// embedded, every block is read once and applied to each batch, and the head chunks serve them all.
import { UserError } from "@shortened/contracts";
import type { TokenRequest } from "@shortened/hf";
import {
  type LoglikelihoodOptions,
  type PackedBatch,
  packRequests,
  recordBatch,
} from "../eval/zeroshot/loglikelihood.js";
import type { HiddenRows, StreamedModel } from "./streamed-model.js";

export interface StreamedLoglikelihoodOptions extends LoglikelihoodOptions {
  /** tokens (rows × padded length) whose hidden states a pass keeps: every block is read once per pass */
  tokensPerPass: number;
}

export async function streamedLoglikelihoods(
  model: StreamedModel,
  requests: TokenRequest[],
  opts: StreamedLoglikelihoodOptions,
): Promise<number[]> {
  const out: number[] = new Array(requests.length);
  const batches = packRequests(requests, opts);
  let done = 0;
  for (let i = 0; i < batches.length; ) {
    const pass: { batch: PackedBatch; h: HiddenRows }[] = [];
    let tokens = 0;
    do {
      const batch = batches[i++]!;
      tokens += batch.B * batch.T;
      pass.push({ batch, h: model.embed(batch.ids, batch.B, batch.T) });
    } while (i < batches.length && tokens + batches[i]!.B * batches[i]!.T <= opts.tokensPerPass);
    for (let l = 0; l < model.numLayers; l++) {
      model.loadBlock(l);
      for (const p of pass) {
        if (opts.signal?.aborted) throw new UserError("cancelled", "zero-shot evaluation cancelled");
        p.h = await model.runBlock(l, p.h);
      }
    }
    const nll = await model.headNll(pass.map((p) => ({ h: p.h, targets: p.batch.targets })));
    pass.forEach((p, k) => {
      done += recordBatch(p.batch, nll[k]!, out);
    });
    opts.onBatch?.(done, requests.length);
  }
  return out;
}
