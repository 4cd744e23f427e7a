/**
 * The live-events bench's clients, in a process of their own (as real clients are never in the
 * server's): `node event-clients.js` with the run in EVENT_CLIENTS (JSON, {@link ClientRun}).
 * POSTs batches [first, first + count) from `concurrency` clients, flat out or paced to `rate`
 * events/s, and prints one line per sampled acknowledgement, `ack <its last event's n> <epoch ms>`, then
 * `done <epoch ms>` when every batch is acknowledged.
 */
import { fileURLToPath } from 'node:url';

export interface ClientRun {
  url: string;
  key: string;
  store: string;
  first: number;
  count: number;
  batchSize: number;
  concurrency: number;
  /** Events/s to pace to; absent: as fast as acknowledged. */
  rate?: number;
}

const TYPES = ['page_view', 'product_view', 'add_to_cart', 'checkout', 'purchase'];
const BASE = Date.parse('2024-06-01T00:00:00Z');

/** Event `n` of the bench: bench-<n>, 10 ms apart, sessions of 7 events, 300 products. */
export function makeEvent(n: number) {
  return { event_id: `bench-${n}`, event_time: new Date(BASE + n * 10).toISOString(), session_id: `s${Math.floor(n / 7)}`, event_type: TYPES[n % 5]!, product_id: `P${n % 300}` };
}

/** Batch `b` of the bench: events b · batchSize … (b + 1) · batchSize − 1. */
export function makeBatch(b: number, batchSize: number) {
  return Array.from({ length: batchSize }, (_, i) => makeEvent(b * batchSize + i));
}

/** Epoch milliseconds with sub-millisecond precision (comparable across processes). */
export const nowMs = () => performance.timeOrigin + performance.now();

async function run(r: ClientRun): Promise<void> {
  let next = r.first;
  const t0 = nowMs();
  async function client() {
    for (;;) {
      const b = next++;
      if (b >= r.first + r.count) return;
      if (r.rate) {
        const wait = t0 + (((b - r.first) * r.batchSize) / r.rate) * 1000 - nowMs();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      const res = await fetch(`${r.url}/v1/events?store=${r.store}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': r.key },
        body: JSON.stringify(makeBatch(b, r.batchSize)),
      });
      if (res.status !== 202) throw new Error(`events: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      if (b % 10 === 0 || b === r.first + r.count - 1) process.stdout.write(`ack ${b * r.batchSize + r.batchSize - 1} ${nowMs()}\n`);
    }
  }
  await Promise.all(Array.from({ length: r.concurrency }, client));
  process.stdout.write(`done ${nowMs()}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run(JSON.parse(process.env.EVENT_CLIENTS!) as ClientRun).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
