#!/usr/bin/env node
// The `ecomm` command: runs the compiled CLI (npm install builds it; `npm run build` rebuilds).
import fs from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write('ecomm: dist/ is missing. Run `npm run build` (npm install runs it for you).\n');
  process.exit(1);
}
await import(main.href);
