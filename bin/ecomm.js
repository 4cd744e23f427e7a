#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node
// The `ecomm` command: runs the compiled CLI (npm install builds it; `npm run build` rebuilds).
// MALLOC_ARENA_MAX=2: glibc keeps 2 malloc arenas instead of up to 16, less memory (docs/deploy.md, "Memory").
import fs from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write('ecomm: dist/ is missing. Run `npm run build` (npm install runs it for you).\n');
  process.exit(1);
}
await import(main.href);
