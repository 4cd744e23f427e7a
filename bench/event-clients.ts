/**
 * The live-events bench's clients, in a process of their own (as real clients are never in the
 * server's): `node event-clients.js` with the run in EVENT_CLIENTS (JSON, {@link ClientRun}).
 * Builds the bodies of batches [first, first + count), prints `start <epoch ms> <CPU ms so far>`,
 * POSTs them from `concurrency` clients, flat out or paced to `rate` events/s, prints one line per
 * sampled acknowledgement, `ack <its last event's n> <epoch ms>`, then `done <epoch ms> <CPU ms>`
 * when every batch is acknowledged.
 */
import { createHash } from 'node:crypto';
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

/**
 * Event `n`'s id: a UUID (v4 layout) made from n, as SDKs send (random-looking, 36 characters),
 * but the same on every call, so the bench can look an acknowledged event up again.
 */
export function eventUuid(n: number): string {
  const h = createHash('md5').update(`bench-${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Event `n` of the bench: a UUID id, 10 ms apart, sessions of 7 events, 300 products. */
export function makeEvent(n: number) {
  return { event_id: eventUuid(n), event_time: new Date(BASE + n * 10).toISOString(), session_id: `s${Math.floor(n / 7)}`, event_type: TYPES[n % 5]!, product_id: `P${n % 300}` };
}

/** Batch `b` of the bench: events b · batchSize … (b + 1) · batchSize − 1. */
export function makeBatch(b: number, batchSize: number) {
  return Array.from({ length: batchSize }, (_, i) => makeEvent(b * batchSize + i));
}

/** Epoch milliseconds with sub-millisecond precision (comparable across processes). */
export const nowMs = () => performance.timeOrigin + performance.now();

async function run(r: ClientRun): Promise<void> {
  // The bodies are built before the clock starts: what is measured is the server, not JSON.stringify here.
  const bodies = Array.from({ length: r.count }, (_, i) => JSON.stringify(makeBatch(r.first + i, r.batchSize)));
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let next = 0;
  const t0 = nowMs();
  process.stdout.write(`start ${t0} ${cpuMs()}\n`);
  async function client() {
    for (;;) {
      const i = next++;
      if (i >= r.count) return;
      if (r.rate) {
        const wait = t0 + ((i * r.batchSize) / r.rate) * 1000 - nowMs();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      const res = await fetch(`${r.url}/v1/events?store=${r.store}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': r.key },
        body: bodies[i],
      });
      if (res.status !== 202) throw new Error(`events: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      const b = r.first + i;
      if (b % 10 === 0 || i === r.count - 1) process.stdout.write(`ack ${b * r.batchSize + r.batchSize - 1} ${nowMs()}\n`);
    }
  }
  await Promise.all(Array.from({ length: r.concurrency }, client));
  process.stdout.write(`done ${nowMs()} ${cpuMs()}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run(JSON.parse(process.env.EVENT_CLIENTS!) as ClientRun).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
