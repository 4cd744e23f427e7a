import type { DateRange } from '../state';

/** What every page gets from the shell. */
export interface PageProps {
  range: DateRange;
  /** '' = the server's default store for this key. */
  store: string;
  /** ISO currency of the store when known, else ''. */
  currency: string;
  /** Re-fetch when the key changes. */
  apiKey: string;
  /** The key has the ADMIN scope and sees every store: what retryFailedJobs asks for (retry buttons). */
  isAdmin: boolean;
}
