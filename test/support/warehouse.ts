/**
 * One migrated warehouse (the embedded engine) on a temporary DATA_DIR for a test file: created
 * before its tests, closed and removed after them. Only one embedded engine lives in a process, so
 * a test file shares this one across its tests.
 */
import { after, before } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { createWarehouse, type Warehouse } from '../../src/warehouse/client.js';
import { migrate } from '../../src/warehouse/migrations.js';
import { tempDir } from './temp.js';

/**
 * Registers the before/after hooks; `use` receives the warehouse once it is migrated (and may load
 * the file's fixtures: the before hook waits for it). Returns the temporary directory, which is
 * also the warehouse's DATA_DIR, for the test's own files.
 */
export function tempWarehouse(use: (wh: Warehouse) => unknown): { readonly dir: string } {
  const tmp = tempDir();
  let wh: Warehouse | undefined;
  before(async () => {
    wh = await createWarehouse(parseConfig({ DATA_DIR: tmp.dir }));
    await migrate(wh);
    await use(wh);
  });
  after(async () => {
    await wh?.close();
    tmp.cleanup();
  });
  return { dir: tmp.dir };
}
