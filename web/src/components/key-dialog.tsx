import { useState } from 'preact/hooks';
import { ApiError, describeError, gql } from '../api/client';
import { VIEWER } from '../api/documents';

/**
 * Asks for an API key, checks it against the server (`viewer`) and hands it over only when the
 * server accepts it. Shown on the first visit and from "Change key".
 */
export function KeyDialog(props: { initial?: string; onSave: (key: string) => void; onCancel?: () => void; reason?: string }) {
  const [key, setKey] = useState(props.initial ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return;
    setBusy(true);
    setError(null);
    try {
      await gql(VIEWER, {}, { key: k });
      props.onSave(k);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const described = error ? describeError(error) : null;
  return (
    <div class="key-screen">
      <form class="key-dialog" onSubmit={submit} aria-labelledby="key-title" data-testid="key-dialog">
        <h1 id="key-title">Connect to your shop analytics</h1>
        {props.reason ? <p class="key-reason" role="alert">{props.reason}</p> : null}
        <p>
          Paste an API key. <code>npm start</code> prints the admin key at start-up (it is also saved in <code>DATA_DIR/admin-key</code>). The key is kept in this
          browser only.
        </p>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} required />
        {described ? (
          <div class="state error" role="alert" data-state="error" data-error-kind={error instanceof ApiError ? error.kind : 'INTERNAL'}>
            <strong>{described.title}</strong>
            <span class="detail">{described.detail}</span>
          </div>
        ) : null}
        <div class="key-actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Checking…' : 'Use this key'}
          </button>
          {props.onCancel ? (
            <button type="button" onClick={props.onCancel}>
              Cancel
            </button>
          ) : null}
        </div>
      </form>
    </div>
  );
}
