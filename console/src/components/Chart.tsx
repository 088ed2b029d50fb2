import * as Plot from '@observablehq/plot';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * One Observable Plot figure, redrawn when its options change. `label` names the chart for screen readers; the
 * figure's own title and caption come from the options. Without a `width` in the options it takes its container's
 * width (and follows it).
 */
export function Chart({ options, label, class: className }: { options: Plot.PlotOptions; label: string; class?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const width = useContainerWidth(ref, options.width === undefined);
  useEffect(() => {
    const host = ref.current;
    if (!host || (options.width === undefined && !width)) return;
    let figure: Element;
    try {
      figure = Plot.plot({ style: { background: 'transparent', fontSize: '12px' }, ...(width ? { width } : {}), ...options });
    } catch (err) {
      // A chart that cannot be drawn says so in its place; the rest of the page stays.
      figure = Object.assign(document.createElement('p'), { className: 'problem', textContent: `This chart cannot be drawn: ${err}` });
    }
    host.replaceChildren(figure);
    return () => figure.remove();
  }, [options, width]);
  return <div class={`chart ${className ?? ''}`} ref={ref} role="img" aria-label={label} />;
}

/** The element's content width, rounded to 10 px so a scroll bar's coming and going does not redraw in a loop. */
function useContainerWidth(ref: { current: HTMLElement | null }, follow: boolean): number | undefined {
  const [width, setWidth] = useState<number>();
  useEffect(() => {
    const element = ref.current;
    if (!follow || !element) return;
    const measure = (px: number) => setWidth(Math.max(200, Math.floor(px / 10) * 10));
    measure(element.clientWidth);
    const observer = new ResizeObserver(([entry]) => measure(entry.contentRect.width));
    observer.observe(element);
    return () => observer.disconnect();
  }, [follow]);
  return width;
}

export { Plot };
