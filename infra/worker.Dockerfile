# The GPU worker image: CUDA 12 and cuDNN 9 runtime libraries, Node 20, the workspace built as in
# infra/Dockerfile (`npm ci --ignore-scripts`, then only the Prisma client generation), plus onnxruntime-node's
# CUDA execution provider: its install script is the one step that downloads (from NuGet, the provider
# libraries matching the installed onnxruntime-node) and it is run here by name, with the cuda12 flag.
# Air-gapped: build with --build-arg ORT_CUDA=skip and add the provider libraries in a derived image
# (node_modules/onnxruntime-node/bin/napi-v*/linux/x64/, next to libonnxruntime.so.1).
# Build from the repository root: docker build -f infra/worker.Dockerfile -t shortened-worker .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive npm_config_update_notifier=false
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && curl -fsSL https://deb.nodesource.com/setup_20.x | bash - \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.base.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY packages ./packages
COPY apps ./apps
COPY models ./models
COPY data ./data
ARG ORT_CUDA=cuda12
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && PRISMA_SCHEMA_ENGINE_BINARY=/bin/false npx prisma generate \
 && if [ "$ORT_CUDA" != skip ]; then \
      node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install="$ORT_CUDA"; fi \
 && npx tsc -b \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p /cache && chown 1000:1000 /cache

# WORKER_DEVICE=cuda: jobs that leave `device` unset run on the GPU (a spec may still ask for cpu).
ENV NODE_ENV=production WORKER_CACHE_DIR=/cache WORKER_CONCURRENCY=1 WORKER_METRICS_PORT=9464 WORKER_DEVICE=cuda
USER 1000
EXPOSE 9464
# Pending migrations: run the migrations job first (MIGRATE_ON_START=0 makes a worker refuse to start).
ENTRYPOINT ["node", "apps/cli/bin/shortened.js"]
CMD ["worker"]
