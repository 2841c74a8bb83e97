/** Where the built dashboard lives (vite build writes it): the API serves this folder at /. */
export declare const dashboardDir: string;
