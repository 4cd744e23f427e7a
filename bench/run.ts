/**
 * `npm run bench [-- <suite> [parts…]]` — runs the benchmarks and updates bench/RESULTS.md.
 * Suites: ingest (parts: online-retail, events, big-csv). Run on a quiet machine.
 */
import 'reflect-metadata';
import { runIngestBench } from './ingest.bench.js';
import { runAnalyticsBench } from './analytics.bench.js';
import { runApiBench } from './api.bench.js';

const [suite, ...parts] = process.argv.slice(2);
const suites: Record<string, (parts: string[]) => Promise<void>> = { ingest: runIngestBench, analytics: runAnalyticsBench, api: runApiBench };

async function main() {
  const chosen = suite ? { [suite]: suites[suite] } : suites;
  for (const [name, run] of Object.entries(chosen)) {
    if (!run) throw new Error(`unknown suite ${name}; known: ${Object.keys(suites).join(', ')}`);
    console.log(`== ${name}`);
    await run(parts);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
