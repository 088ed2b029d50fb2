import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Renders its children (and so starts their requests) once they come within 300 px of the viewport: a page asks first
 * for what is on screen. Each compare histogram is a scan of every frame of a deployment; below the fold they wait.
 */
export function WhenVisible({ children, minHeight = 320 }: { children: ComponentChildren; minHeight?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (seen || !element) return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setSeen(true), { rootMargin: '300px' });
    observer.observe(element);
    return () => observer.disconnect();
  }, [seen]);
  return (
    <div ref={ref} style={seen ? undefined : { minHeight: `${minHeight}px` }}>
      {seen ? children : <p class="muted">Loads when scrolled into view.</p>}
    </div>
  );
}
