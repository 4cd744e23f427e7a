import 'reflect-metadata';
import { ConfigError, parseConfig, type Config } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { packageVersion, startApp } from '../app/app.js';
import { createWarehouse } from '../warehouse/client.js';
import { migrate, MigrationError } from '../warehouse/migrations.js';
import { RedisUnavailableError } from '../redis/redis-server.js';
import { generateCommand } from './generate.command.js';
import { importCommand } from './import.command.js';
import { rebuildCommand } from './rebuild.command.js';

const HELP = `ecomm — ecommerce-analytics: GraphQL analytics over a ClickHouse warehouse

Usage: ecomm <command> [options]

Commands:
  start      API + workers + embedded engine in one process (loads demo data into an empty warehouse)
  api        only the HTTP/GraphQL API (use with CLICKHOUSE_URL and REDIS_URL)
  worker     only the BullMQ workers (use with CLICKHOUSE_URL and REDIS_URL)
  migrate    apply the numbered migrations in clickhouse/ and exit
  generate   write the demo shop as CSV, JSON Lines or XLSX files (ecomm generate --help)
  import     send a file to the running server and follow the import (ecomm import --help)
  rebuild    rebuild the analytics (rollups … data version) through the running server (ecomm rebuild --help)
  help       this text
  version    print the version

Configuration is read from the environment; see the README's configuration table.
`;

function loadConfig(): Config {
  return parseConfig(process.env);
}

async function runServer(role: 'start' | 'api' | 'worker'): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL);
  // Signal handlers go in before anything else: a Ctrl-C during start-up or right after the banner
  // must stop the app cleanly (the embedded engine's files and the Redis child depend on it).
  // `on`, not `once`: a second signal during shutdown must not kill the process half-way.
  let signalled: string | undefined;
  const stopRequested = new Promise<string>((resolve) => {
    const onSignal = (signal: string) => {
      if (signalled) {
        log.warn({ signal }, 'already shutting down');
        return;
      }
      signalled = signal;
      resolve(signal);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });
  const starting = startApp({
    config,
    log,
    api: role !== 'worker',
    worker: role !== 'api',
    demo: role === 'start',
  });
  const early = await Promise.race([starting.then(() => undefined), stopRequested]);
  const app = await starting;
  if (early) {
    log.info({ signal: early }, 'interrupted during start-up: stopping');
    await app.stop();
    return 0;
  }
  if (app.url) {
    const keyLine =
      app.adminKey.source === 'env'
        ? 'Admin API key:  (from ADMIN_API_KEY)'
        : `Admin API key:  ${app.adminKey.key}\n                (saved to ${app.adminKey.file}, mode 0600)`;
    process.stdout.write(
      `\necommerce-analytics ${packageVersion()} is running (${app.services.warehouse.engine} engine${app.demoLoaded ? ', demo data loaded' : ''})\n` +
        `  Dashboard:    ${app.url}/\n` +
        `  GraphQL:      ${app.url}/graphql   (playground in a browser)\n` +
        `  Metrics:      ${app.url}/metrics\n` +
        `  Health:       ${app.url}/healthz   Ready: ${app.url}/readyz\n` +
        `  ${keyLine}\n` +
        `  Try:          curl -s ${app.url}/graphql -H 'content-type: application/json' -d '{"query":"{ health { status engine } }"}'\n` +
        `Press Ctrl-C to stop.\n\n`,
    );
  } else {
    process.stdout.write(`ecommerce-analytics worker ${packageVersion()} is running. Press Ctrl-C to stop.\n`);
  }
  const signal = await stopRequested;
  log.info({ signal }, 'shutting down: draining workers and closing connections');
  try {
    await app.stop();
    log.info('stopped');
    return 0;
  } catch (err) {
    log.error({ err: (err as Error).message }, 'error during shutdown');
    return 1;
  }
}

async function runMigrate(): Promise<number> {
  const config = loadConfig();
  const wh = await createWarehouse(config);
  try {
    const r = await migrate(wh, { log: (m) => process.stdout.write(m + '\n') });
    process.stdout.write(`${r.applied.length} migration(s) applied, ${r.skipped.length} already applied.\n`);
    return 0;
  } finally {
    await wh.close();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
    case 'api':
    case 'worker':
      return runServer(command);
    case 'migrate':
      return runMigrate();
    case 'generate':
      return generateCommand(rest);
    case 'import':
      return importCommand(rest);
    case 'rebuild':
      return rebuildCommand(rest);
    case 'schema':
      process.stdout.write(await (await import('../schema/build-schema.js')).printAppSchema());
      return 0;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(packageVersion() + '\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || err instanceof MigrationError || err instanceof RedisUnavailableError) {
      process.stderr.write(err.message + '\n');
    } else {
      process.stderr.write(`Fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(1);
  },
);
