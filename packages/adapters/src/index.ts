export * from "./db/client.js";
export * from "./db/migrations.js";
export * from "./ids.js";
export * from "./queue/bullmq.js";
export * from "./registry/index.js";
export * from "./store/hash.js";
export * from "./store/local.js";
export * from "./store/s3.js";
