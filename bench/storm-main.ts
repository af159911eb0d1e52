/**
 * The storm as its own process: `node --import tsx bench/storm-main.ts EVENTS DISTINCT` prints the
 * storm's figures as one JSON object. `npm run bench` runs it so: keymend local loads the approval
 * handler from its TypeScript file when it exists, which the bench's own bundle cannot. The storm's
 * figures are counts (reads, publishes, requests), the same however the code is loaded.
 */
import { stormBench } from './storm';

const [events, distinct] = process.argv.slice(2).map(Number);
stormBench({ events, distinct }).then(
  (figures) => process.stdout.write(`${JSON.stringify(figures)}\n`),
  (error: unknown) => {
    process.stderr.write(`storm failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
