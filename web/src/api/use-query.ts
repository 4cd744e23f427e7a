import { useEffect, useState } from 'preact/hooks';

/** Where a request stands: what a page renders (loading, an error, or the data). */
export type QueryState<T> =
  | { status: 'loading'; data?: undefined; error?: undefined }
  | { status: 'error'; error: unknown; data?: undefined }
  | { status: 'ok'; data: T; error?: undefined };

/**
 * Runs `load` when `deps` change (a new range, store or key) and tracks its state. An earlier
 * request still running is aborted, so a slow old answer never replaces a newer one.
 */
export function useQuery<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): QueryState<T> & { reload: () => void } {
  const [nonce, setNonce] = useState(0);
  const signature = JSON.stringify([...deps, nonce]);
  // The state remembers which inputs it answers: on the render right after the inputs change
  // (before the effect has run) the old answer is not shown as the new one.
  const [state, setState] = useState<{ for: string; s: QueryState<T> }>({ for: signature, s: { status: 'loading' } });
  useEffect(() => {
    const ctrl = new AbortController();
    setState({ for: signature, s: { status: 'loading' } });
    load(ctrl.signal).then(
      (data) => {
        if (!ctrl.signal.aborted) setState({ for: signature, s: { status: 'ok', data } });
      },
      (error) => {
        if (!ctrl.signal.aborted) setState({ for: signature, s: { status: 'error', error } });
      },
    );
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature]);
  const current: QueryState<T> = state.for === signature ? state.s : { status: 'loading' };
  return { ...current, reload: () => setNonce((n) => n + 1) };
}
