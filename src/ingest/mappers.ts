import type { IncomingRecord, RecordMapper } from './pipeline.js';
import { mapOnlineRetail } from './formats/online-retail.js';

/**
 * The online-retail invoice-line format as a record mapper: each accepted line is one order item
 * (the primary record the batch counts); orders, customers and products are derived from the lines
 * and emitted after the last line (see {@link IncomingRecord.refsInBatch}).
 */
export function onlineRetailMapper(opts: { timezone: string; storeId: string }): RecordMapper {
  return async function* (rows) {
    for await (const out of mapOnlineRetail(rows, opts)) {
      if ('reject' in out) {
        yield { reject: out.reject };
      } else {
        yield {
          entity: out.entity,
          rowNumber: out.rowNumber,
          fields: out.record,
          // An item's raw record is its source line; derived records have their JSON.
          raw: out.raw ?? JSON.stringify(out.record),
          primary: out.entity === 'order_items',
          // Items come first with their order's created_at; orders, customers and products follow
          // at the end of the file, so nothing waits in memory and nothing is inferred.
          refsInBatch: true,
        };
      }
    }
  };
}
