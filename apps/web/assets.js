// Where the built dashboard lives (vite build writes it): the API serves this folder at /.
import { fileURLToPath } from "node:url";

export const dashboardDir = fileURLToPath(new URL("./dist", import.meta.url));
