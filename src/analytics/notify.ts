import type { Redis } from 'ioredis';

/** Severity order of anomaly detections, lowest first. */
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What the webhook receives of one detection (the API's Anomaly shape). */
export interface AnomalyNotice {
  date: string;
  metric: string;
  dimension: string;
  dimensionValue: string;
  actual: string;
  expected: string;
  lower: string;
  upper: string;
  score: number;
  direction: string;
  severity: Severity;
  runId: string;
}

/** The JSON body POSTed to ANOMALY_WEBHOOK_URL. */
export interface AnomalyWebhookBody {
  type: 'anomalies.detected';
  storeId: string;
  runId: string;
  minSeverity: Severity;
  sentAt: string;
  anomalies: AnomalyNotice[];
}

/** True when `s` is at least `min`. */
export function atLeast(s: string, min: Severity): boolean {
  return SEVERITIES.indexOf(s as Severity) >= SEVERITIES.indexOf(min);
}

const notifiedKey = (storeId: string) => `ecomm:anomalies:notified:${storeId}`;
const identity = (a: AnomalyNotice) => `${a.date}|${a.metric}|${a.dimension}|${a.dimensionValue}|${a.direction}`;

/**
 * The detections not notified before: every flow reruns the detector over the recent history, so
 * the same spike is detected again and again; it is sent once (remembered per store in Redis by
 * date, metric, dimension, value and direction).
 */
export async function newDetections(redis: Redis, storeId: string, detections: AnomalyNotice[]): Promise<AnomalyNotice[]> {
  if (detections.length === 0) return [];
  const seen = await redis.smismember(notifiedKey(storeId), ...detections.map(identity));
  return detections.filter((_, i) => seen[i] !== 1);
}

/** Remembers detections as notified (after the webhook accepted them). */
export async function markNotified(redis: Redis, storeId: string, detections: AnomalyNotice[]): Promise<void> {
  if (detections.length === 0) return;
  await redis.sadd(notifiedKey(storeId), ...detections.map(identity));
}

export class WebhookError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'WebhookError';
  }
}

/**
 * POSTs one notification as JSON; resolves when the receiver answered 2xx, throws a WebhookError
 * otherwise (the caller, a BullMQ job, retries with backoff).
 * @param timeoutMs @default 10000
 */
export async function postWebhook(url: string, body: AnomalyWebhookBody, timeoutMs = 10_000): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ecommerce-analytics' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new WebhookError(`anomaly webhook unreachable: ${(err as Error).cause ?? (err as Error).message}`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new WebhookError(`anomaly webhook answered ${res.status}`, res.status);
  return res.status;
}
