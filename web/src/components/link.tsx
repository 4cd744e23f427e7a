import type { ComponentChildren } from 'preact';
import { hrefFor, navigate } from '../state';

/** An in-app link: a real href (open in new tab works), navigation without reload on a plain click. */
export function Link(props: { path: string; children: ComponentChildren; class?: string; current?: boolean }) {
  return (
    <a
      href={hrefFor(props.path)}
      class={props.class}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate({ path: props.path });
      }}
    >
      {props.children}
    </a>
  );
}
