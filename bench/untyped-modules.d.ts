// Types of the untyped packages the bench scripts and test helpers use (only what they use).
declare module "autocannon" {
  namespace autocannon {
    interface Histogram {
      average: number;
      total: number;
      p50: number;
      p90: number;
      p99: number;
      max: number;
    }
    interface Result {
      requests: Histogram;
      latency: Histogram;
      non2xx: number;
      errors: number;
    }
  }
  function autocannon(
    opts: Record<string, unknown>,
    done: (err: Error | null, res: autocannon.Result) => void,
  ): void;
  export default autocannon;
}

declare module "s3rver" {
  export default class S3rver {
    constructor(opts: { port: number; address: string; silent: boolean; directory: string });
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  }
}
