import type { ComponentChildren } from 'preact';
import { ApiError, describeError } from '../api/client';
import type { QueryState } from '../api/use-query';

export function Loading(props: { what?: string }) {
  return (
    <div class="state loading" role="status" aria-live="polite" data-state="loading">
      <span class="spinner" aria-hidden="true" /> Loading{props.what ? ` ${props.what}` : ''}…
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return (
    <div class="state empty" data-state="empty">
      {props.children}
    </div>
  );
}

/** An error in words; "not available" (a query this server does not have yet) gets its own look. */
export function ErrorBox(props: { error: unknown; onRetry?: () => void }) {
  const { title, detail } = describeError(props.error);
  const kind = props.error instanceof ApiError ? props.error.kind : 'INTERNAL';
  if (kind === 'NOT_AVAILABLE') {
    return (
      <div class="state not-available" data-state="not-available" role="note">
        <strong>Not available on this server.</strong> <span class="detail">{detail}</span>
      </div>
    );
  }
  return (
    <div class="state error" role="alert" data-state="error" data-error-kind={kind}>
      <strong>{title}</strong>
      <span class="detail">{detail}</span>
      {props.onRetry && kind !== 'UNAUTHENTICATED' ? (
        <button type="button" onClick={props.onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * Renders a query's state: a spinner while loading, the error, an empty note when `isEmpty`
 * says so, else `children(data)`.
 */
export function QueryView<T>(props: {
  state: QueryState<T> & { reload?: () => void };
  what?: string;
  isEmpty?: (d: T) => boolean;
  empty?: ComponentChildren;
  children: (d: T) => ComponentChildren;
}) {
  const s = props.state;
  if (s.status === 'loading') return <Loading what={props.what} />;
  if (s.status === 'error') return <ErrorBox error={s.error} onRetry={s.reload} />;
  if (props.isEmpty?.(s.data)) return <Empty>{props.empty ?? 'No data in this range.'}</Empty>;
  return <>{props.children(s.data)}</>;
}

/** A titled block of a page. */
export function Panel(props: { title: string; id?: string; actions?: ComponentChildren; children: ComponentChildren; wide?: boolean }) {
  const headingId = `${props.id ?? props.title.toLowerCase().replace(/\W+/g, '-')}-title`;
  return (
    <section class={`panel${props.wide ? ' wide' : ''}`} aria-labelledby={headingId} data-panel={props.id}>
      <header class="panel-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions ? <div class="panel-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

/** A small segmented switch (radio group) for options like granularity or metric. */
export function Segmented<T extends string>(props: { label: string; value: T; options: Array<{ value: T; label: string }>; onChange: (v: T) => void }) {
  return (
    <div class="segmented" role="radiogroup" aria-label={props.label}>
      {props.options.map((o) => (
        <button type="button" role="radio" aria-checked={o.value === props.value} class={o.value === props.value ? 'on' : ''} onClick={() => props.onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}
