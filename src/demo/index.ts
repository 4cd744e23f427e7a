/**
 * The demo shop: a deterministic generator, file writers (CSV / JSON Lines / XLSX) and a direct
 * warehouse loader.
 */
export { Rng, WeightedTable, hashString } from './random.js';
export {
  generateDemoShop,
  toExportRow,
  entityRecords,
  demoRowCounts,
  formatCents,
  parseCents,
  DEMO_ENTITIES,
  DEMO_COLUMNS,
  DEFAULT_DEMO_END,
  DEFAULT_DEMO_DAYS,
  DEFAULT_DIRTY_RATE,
  DEMO_CURRENCY,
  ORDER_STATUSES,
  CHANNELS,
  PAYMENT_METHODS,
  PAYMENT_STATUSES,
  EVENT_TYPES,
  SEGMENTS,
  WAREHOUSES,
} from './generator.js';
export type {
  GenerateDemoOptions,
  DemoShop,
  DemoStoreInfo,
  DemoEntity,
  DemoCustomer,
  DemoProduct,
  DemoOrder,
  DemoOrderItem,
  DemoPayment,
  DemoInventorySnapshot,
  DemoEvent,
  DemoRecordMap,
  DirtyRow,
  DirtyReason,
  ExportRow,
  ExportValue,
  ColumnSpec,
  ColumnKind,
  OrderStatus,
  Channel,
  PaymentMethod,
  PaymentStatus,
  EventType,
  Segment,
  WarehouseId,
} from './generator.js';
export { writeDemoFiles, exportRows, demoFileName, csvField, DEMO_FILE_FORMATS } from './writers.js';
export type { DemoFileFormat, WrittenDemoFile, WriteDemoOptions } from './writers.js';
export { loadDemoShop, customerScd2Rows, emailHash, OPEN_VALID_TO } from './loader.js';
export type { DemoLoadCounts, LoadDemoOptions } from './loader.js';
