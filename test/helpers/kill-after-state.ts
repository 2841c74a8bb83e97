// Starts a CLI command and SIGKILLs it as soon as its first training state is saved (resume tests).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cliMain = fileURLToPath(new URL("../../apps/cli/src/main.ts", import.meta.url));

export function killAfterFirstState(args: string[], stateDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=development", "--import", "tsx", cliMain, ...args], {
      stdio: "ignore",
    });
    const timer = setInterval(() => {
      if (existsSync(join(stateDir, "state.json"))) {
        clearInterval(timer);
        child.kill("SIGKILL");
      }
    }, 2);
    child.on("exit", (_code, signal) => {
      clearInterval(timer);
      if (signal === "SIGKILL") resolve();
      else reject(new Error("the run finished before it could be killed"));
    });
  });
}
