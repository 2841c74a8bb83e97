// A model card answer: JSON by default; Markdown for `?format=markdown` or `Accept: text/markdown`.
import { ModelCard } from "@shortened/contracts";
import { type ModelCard as Card, modelCardMarkdown } from "@shortened/jobs";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";

export const cardAnswer = {
  description: "the model card: recipe, removed blocks, retraining, data, metrics, lineage, license",
  content: {
    "application/json": { schema: ModelCard },
    "text/markdown": { schema: z.string() },
  },
};

export function sendCard(req: FastifyRequest, reply: FastifyReply, card: Card) {
  const q = req.query as { format?: string };
  if (q.format === "markdown" || (req.headers.accept ?? "").includes("text/markdown"))
    return reply.type("text/markdown; charset=utf-8").send(modelCardMarkdown(card));
  return reply.type("application/json; charset=utf-8").send(card);
}
