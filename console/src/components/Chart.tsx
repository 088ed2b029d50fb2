import * as Plot from '@observablehq/plot';
import { useEffect, useRef } from 'preact/hooks';

/**
 * One Observable Plot figure, redrawn when its options change. `label` names the chart for screen readers; the
 * figure's own title and caption come from the options.
 */
export function Chart({ options, label, class: className }: { options: Plot.PlotOptions; label: string; class?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = ref.current;
    if (!host) return;
    const figure = Plot.plot({ style: { background: 'transparent', fontSize: '12px' }, ...options });
    host.replaceChildren(figure);
    return () => figure.remove();
  }, [options]);
  return <div class={`chart ${className ?? ''}`} ref={ref} role="img" aria-label={label} />;
}

export { Plot };
