import { useEffect, useState } from 'preact/hooks';
import { addDays, isoDay, navigate, rangeDays, type DateRange } from '../state';

const PRESETS: Array<{ id: string; label: string; range: (today: string) => DateRange }> = [
  { id: '7', label: 'Last 7 days', range: (t) => ({ from: addDays(t, -6), to: t }) },
  { id: '30', label: 'Last 30 days', range: (t) => ({ from: addDays(t, -29), to: t }) },
  { id: '90', label: 'Last 90 days', range: (t) => ({ from: addDays(t, -89), to: t }) },
  { id: '365', label: 'Last 12 months', range: (t) => ({ from: addDays(t, -364), to: t }) },
  { id: 'ytd', label: 'This year', range: (t) => ({ from: t.slice(0, 4) + '-01-01', to: t }) },
];

/** From/to day inputs and quick presets; a change moves the URL, which refetches every panel. */
export function RangePicker(props: { range: DateRange }) {
  const [from, setFrom] = useState(props.range.from);
  const [to, setTo] = useState(props.range.to);
  useEffect(() => {
    setFrom(props.range.from);
    setTo(props.range.to);
  }, [props.range.from, props.range.to]);
  const today = isoDay(new Date());
  const preset = PRESETS.find((p) => {
    const r = p.range(today);
    return r.from === props.range.from && r.to === props.range.to;
  });
  const apply = (f: string, t: string) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(f) && /^\d{4}-\d{2}-\d{2}$/.test(t) && f <= t) navigate({ range: { from: f, to: t } });
  };
  return (
    <fieldset class="range-picker">
      <legend class="sr-only">Date range</legend>
      <label>
        <span class="sr-only">Quick range</span>
        <select
          aria-label="Quick range"
          value={preset?.id ?? ''}
          onChange={(e) => {
            const p = PRESETS.find((x) => x.id === (e.target as HTMLSelectElement).value);
            if (p) navigate({ range: p.range(today) });
          }}
        >
          <option value="">Custom ({rangeDays(props.range)} days)</option>
          {PRESETS.map((p) => (
            <option value={p.id}>{p.label}</option>
          ))}
        </select>
      </label>
      <label>
        <span>From</span>
        <input
          type="date"
          name="from"
          value={from}
          max={to}
          onChange={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setFrom(v);
            apply(v, to);
          }}
        />
      </label>
      <label>
        <span>To</span>
        <input
          type="date"
          name="to"
          value={to}
          min={from}
          onChange={(e) => {
            const v = (e.target as HTMLInputElement).value;
            setTo(v);
            apply(from, v);
          }}
        />
      </label>
    </fieldset>
  );
}

export interface StoreOption {
  id: string;
  name?: string;
}

/** A select when the stores are known, else a text field for the store id. */
export function StorePicker(props: { store: string; stores: StoreOption[] }) {
  const [text, setText] = useState(props.store);
  useEffect(() => setText(props.store), [props.store]);
  if (props.stores.length > 0) {
    return (
      <label class="store-picker">
        <span>Store</span>
        <select name="store" value={props.store} onChange={(e) => navigate({ store: (e.target as HTMLSelectElement).value })}>
          {props.stores.length > 1 || !props.stores.some((s) => s.id === props.store) ? <option value="">Default store</option> : null}
          {props.stores.map((s) => (
            <option value={s.id}>{s.name && s.name !== s.id ? `${s.name} (${s.id})` : s.id}</option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <form
      class="store-picker"
      onSubmit={(e) => {
        e.preventDefault();
        navigate({ store: text.trim() });
      }}
    >
      <label>
        <span>Store</span>
        <input name="store" type="text" placeholder="default" value={text} size={10} onInput={(e) => setText((e.target as HTMLInputElement).value)} onChange={() => navigate({ store: text.trim() })} />
      </label>
    </form>
  );
}
