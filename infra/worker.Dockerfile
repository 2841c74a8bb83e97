# The GPU worker image: CUDA 12 and cuDNN 9 runtime libraries, Node 20, the workspace built as in
# infra/Dockerfile, plus onnxruntime-node's CUDA execution provider. npm ci skips onnxruntime-node's
# install script (package.json allowScripts), so it is run here explicitly with the cuda12 flag; it
# downloads the provider libraries matching the installed onnxruntime-node (1.29.0) from NuGet.
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
RUN npm ci --no-audit --no-fund \
 && node node_modules/onnxruntime-node/script/install.js --onnxruntime-node-install=cuda12 \
 && npx tsc -b \
 && npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /cache && chown 1000:1000 /cache

ENV NODE_ENV=production WORKER_CACHE_DIR=/cache WORKER_CONCURRENCY=1 WORKER_METRICS_PORT=9464
USER 1000
EXPOSE 9464
# Pending migrations: run the migrations job first (MIGRATE_ON_START=0 makes a worker refuse to start).
ENTRYPOINT ["node", "apps/cli/bin/shortened.js"]
CMD ["worker"]
