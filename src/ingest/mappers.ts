import type { RecordMapper } from './pipeline.js';
import { mapOnlineRetail } from './formats/online-retail.js';

/**
 * The online-retail invoice-line format as a record mapper: each accepted line is one order item
 * (the primary record the batch counts); orders, customers and products are derived from the lines.
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
          raw: JSON.stringify(out.record),
          primary: out.entity === 'order_items',
        };
      }
    }
  };
}
