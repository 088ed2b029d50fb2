import { useMemo } from 'preact/hooks';
import { Chart, Plot } from './Chart';

/** A row's trend: mean laser error per minute, without axes. */
export function Sparkline({ points, label }: { points: { time: string; meanError: number | null }[]; label: string }) {
  const options = useMemo(
    () => ({
      width: 140,
      height: 32,
      margin: 2,
      axis: null,
      x: { type: 'utc' as const },
      y: { zero: true },
      marks: [
        Plot.lineY(points, { x: (p: { time: string }) => new Date(p.time), y: 'meanError', stroke: 'currentColor', strokeWidth: 1.5 }),
      ],
    }),
    [points],
  );
  return <Chart options={options} label={label} class="sparkline" />;
}
