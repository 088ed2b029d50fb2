import { Badge } from './Status';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { imageUrl } from '../api';
import { axisTitle, fieldInfo } from '../fields';
import { mm, time } from '../format';
import { binShares } from '../measures';
import type { Annotation, DeploymentFrame, HistogramAnswer, SeriesPoint } from '../wire';
import { Chart, Plot } from './Chart';

const LASER = '#1b1f24';
const PREDICTION = '#1f5fbf';
const ERROR = '#b3261e';
/** One colour per model version in the scatter (Tableau 10). */
const VERSION_COLOURS = ['#4e79a7', '#f28e2c', '#59a14f', '#e15759', '#76b7b2', '#edc949', '#af7aa1', '#ff9da7', '#9c755f', '#bab0ab'];
const versionKey = (f: DeploymentFrame) => (f.modelVersion == null ? 'no model' : `v${f.modelVersion}`);

/** The width of an element, followed as the window changes (a chart is drawn at its container's width). */
export function useWidth<T extends HTMLElement>(fallback = 600): [RefObject<T>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => {
      const next = Math.max(240, Math.floor(entry.contentRect.width / 10) * 10);
      setWidth((w) => (w === next ? w : next));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** A legend in HTML: Plot's own legends rely on an inline <style>, which the console's CSP refuses. */
function Legend({ items }: { items: { label: string; color: string }[] }) {
  return (
    <ul class="legend" aria-hidden="true">
      {items.map((i) => (
        <li>
          <span class="swatch" style={{ background: i.color }} />
          {i.label}
        </li>
      ))}
    </ul>
  );
}

const annotationMarks = (annotations: Annotation[], domain: [Date, Date]) => {
  const shown = annotations.filter((a) => {
    const t = Date.parse(a.time);
    return t >= domain[0].getTime() && t <= domain[1].getTime();
  });
  return [
    Plot.ruleX(shown, {
      x: (a: Annotation) => new Date(a.time),
      stroke: '#9a6200',
      strokeDasharray: '4,3',
      title: (a: Annotation) => a.text,
    }),
    Plot.text(shown, {
      x: (a: Annotation) => new Date(a.time),
      frameAnchor: 'top',
      dy: -2,
      text: (a: Annotation) => (a.text.length > 24 ? `${a.text.slice(0, 23)}…` : a.text),
      fill: '#9a6200',
      textAnchor: 'start',
      dx: 3,
    }),
  ];
};

/**
 * The mean prediction and laser distance per bucket, and below it the mean error, on one time axis. Domains given
 * from outside keep two deployments (Compare) on the same scales; annotations mark the demo's phases.
 */
export function SeriesCharts({
  points,
  domain,
  annotations = [],
  mmDomain,
  errorDomain,
  name,
}: {
  points: SeriesPoint[];
  domain: [Date, Date];
  annotations?: Annotation[];
  mmDomain?: [number, number];
  errorDomain?: [number, number];
  name: string;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const distance = useMemo(() => {
    const long = points.flatMap((p) => [
      { time: new Date(p.time), value: p.meanSensor, series: 'Laser' },
      { time: new Date(p.time), value: p.meanPrediction, series: 'Prediction' },
    ]);
    return {
      width,
      height: 220,
      marginLeft: 52,
      marginTop: 18,
      x: { type: 'utc' as const, domain, label: null },
      y: { label: 'Mean distance (mm)', domain: mmDomain, grid: true, nice: true },
      color: { domain: ['Laser', 'Prediction'], range: [LASER, PREDICTION] },
      marks: [
        ...annotationMarks(annotations, domain),
        Plot.lineY(long, { x: 'time', y: 'value', stroke: 'series', strokeWidth: 1.8, curve: 'monotone-x' }),
        Plot.tip(
          long,
          Plot.pointerX({
            x: 'time',
            y: 'value',
            stroke: 'series',
            title: (d: { time: Date; value: number | null; series: string }) => `${d.series}: ${mm(d.value)}\n${time(d.time.getTime())}`,
          }),
        ),
      ],
    };
  }, [points, width, domain, mmDomain, annotations]);
  const error = useMemo(
    () => ({
      width,
      height: 150,
      marginLeft: 52,
      marginTop: 18,
      x: { type: 'utc' as const, domain, label: null },
      y: { label: 'Mean error (mm)', domain: errorDomain, grid: true, nice: true, zero: true },
      marks: [
        ...annotationMarks(annotations, domain),
        Plot.areaY(points, {
          x: (p: SeriesPoint) => new Date(p.time),
          y: 'meanError',
          fill: ERROR,
          fillOpacity: 0.15,
          curve: 'monotone-x',
        }),
        Plot.lineY(points, {
          x: (p: SeriesPoint) => new Date(p.time),
          y: 'meanError',
          stroke: ERROR,
          strokeWidth: 1.8,
          curve: 'monotone-x',
        }),
        Plot.tip(
          points,
          Plot.pointerX({
            x: (p: SeriesPoint) => new Date(p.time),
            y: 'meanError',
            title: (p: SeriesPoint) => `error ${mm(p.meanError)} over ${p.frames} frames\n${time(p.time)}`,
          }),
        ),
        Plot.ruleY([0]),
      ],
    }),
    [points, width, domain, errorDomain, annotations],
  );
  const hasData = points.some((p) => p.frames > 0);
  return (
    <div ref={ref} class="series">
      {hasData ? (
        <>
          <Legend
            items={[
              { label: 'Laser (mean)', color: LASER },
              { label: 'Prediction (mean)', color: PREDICTION },
              { label: 'Error (mean)', color: ERROR },
            ]}
          />
          <Chart options={distance} label={`mean prediction and laser distance over time, ${name}`} />
          <Chart options={error} label={`mean error over time, ${name}`} />
        </>
      ) : (
        <p class="muted empty-chart series-empty">
          No frames in this window: the mean prediction, laser distance and error appear here as rovers send frames.
        </p>
      )}
    </div>
  );
}

/** Each labelled frame's prediction against its laser reading; on the diagonal the model is right. */
export function PredictionScatter({ frames, name }: { frames: DeploymentFrame[]; name: string }) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const labelled = useMemo(() => frames.filter((f) => f.sensorValue != null && f.prediction != null), [frames]);
  const versions = useMemo(
    () => [...new Set(labelled.map((f) => versionKey(f)))].sort((x, y) => x.localeCompare(y, undefined, { numeric: true })),
    [labelled],
  );
  const options = useMemo(() => {
    const values = labelled.flatMap((f) => [f.sensorValue!, f.prediction!]);
    const lo = Math.min(0, ...values);
    const hi = Math.max(1, ...values);
    return {
      width: Math.min(width, 620),
      height: Math.round(Math.min(width * 0.7, 380)),
      marginLeft: 52,
      x: { label: 'Laser distance (mm)', domain: [lo, hi], grid: true, nice: true },
      y: { label: 'Prediction (mm)', domain: [lo, hi], grid: true, nice: true },
      color: { domain: versions, range: VERSION_COLOURS },
      marks: [
        Plot.link([{ x1: lo, y1: lo, x2: hi, y2: hi }], {
          x1: 'x1',
          y1: 'y1',
          x2: 'x2',
          y2: 'y2',
          stroke: '#9aa3ad',
          strokeDasharray: '4,3',
        }),
        Plot.dot(labelled, {
          x: 'sensorValue',
          y: 'prediction',
          r: 2,
          fill: versionKey,
          fillOpacity: 0.45,
          tip: true,
          title: (f: DeploymentFrame) => `laser ${mm(f.sensorValue)}, prediction ${mm(f.prediction)}\n${f.client}, ${time(f.time)}`,
        }),
      ],
    };
  }, [labelled, width, versions]);
  return (
    <div ref={ref}>
      {labelled.length === 0 ? (
        <p class="muted empty-chart">
          No labelled frames yet: a frame lands here once it has both a prediction and a laser reading (sensor_value).
        </p>
      ) : (
        <>
          <Legend items={versions.map((v, i) => ({ label: `answered by ${v}`, color: VERSION_COLOURS[i % VERSION_COLOURS.length] }))} />
          <Chart options={options} label={`prediction against laser distance of the last ${labelled.length} labelled frames, ${name}`} />
          <p class="muted chart-note">
            {labelled.length} labelled frames of the last {frames.length}; the dashed diagonal is a perfect prediction.
          </p>
        </>
      )}
    </div>
  );
}

/** A histogram as the API bins it; `shares` draws % of frames (two deployments of unequal traffic compare by shape). */
export function Histogram({
  answer,
  name,
  shares = false,
  yDomain,
  height = 200,
}: {
  answer: HistogramAnswer;
  name: string;
  shares?: boolean;
  yDomain?: [number, number];
  height?: number;
}) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const info = fieldInfo(answer.field);
  const options = useMemo(() => {
    const bins = binShares(answer);
    return {
      width,
      height,
      marginLeft: 52,
      x: { label: axisTitle(info) },
      y: { label: shares ? 'Share of frames (%)' : 'Frames', grid: true, domain: yDomain },
      marks: [
        Plot.rectY(bins, {
          x1: 'lower',
          x2: 'upper',
          y: shares ? 'share' : 'count',
          fill: PREDICTION,
          fillOpacity: 0.75,
          insetLeft: 0.5,
          insetRight: 0.5,
          tip: true,
          title: (b: { lower: number; upper: number; count: number; share: number }) =>
            `${b.lower.toFixed(1)} – ${b.upper.toFixed(1)}: ${b.count} frames (${b.share.toFixed(1)} %)`,
        }),
        Plot.ruleY([0]),
      ],
    };
  }, [answer, width, shares, yDomain, info, height]);
  const total = answer.bins.reduce((sum, b) => sum + b.count, 0);
  return (
    <div ref={ref}>
      {total === 0 ? (
        <p class="muted empty-chart">No frames with a value of {info.label.toLowerCase()} yet.</p>
      ) : (
        <Chart options={options} label={`histogram of ${info.label} over ${total} frames, ${name}`} />
      )}
    </div>
  );
}

/**
 * The newest frames' images with what the model said and what the laser read. Images come with the token (an
 * <img src> cannot send it): each is an object URL, revoked when its frame leaves the list or the page closes.
 */
export function FrameThumbs({ frames: all }: { frames: DeploymentFrame[] }) {
  const frames = all.filter((f): f is DeploymentFrame & { id: string; image: string } => f.id != null && f.image != null);
  const [urls, setUrls] = useState<Record<string, string | null>>({});
  const held = useRef(new Map<string, string>());

  useEffect(() => {
    let stopped = false;
    const wanted = new Set(frames.map((f) => f.id));
    for (const [id, url] of held.current)
      if (!wanted.has(id)) {
        URL.revokeObjectURL(url);
        held.current.delete(id);
      }
    setUrls((old) => Object.fromEntries(Object.entries(old).filter(([id]) => wanted.has(id))));
    for (const frame of frames) {
      if (held.current.has(frame.id)) continue;
      imageUrl(frame.image).then(
        (url) => {
          if (stopped) return URL.revokeObjectURL(url);
          const before = held.current.get(frame.id);
          if (before) URL.revokeObjectURL(before);
          held.current.set(frame.id, url);
          setUrls((old) => ({ ...old, [frame.id]: url }));
        },
        () => !stopped && setUrls((old) => ({ ...old, [frame.id]: null })),
      );
    }
    return () => {
      stopped = true;
    };
  }, [frames.map((f) => f.id).join(',')]);

  useEffect(
    () => () => {
      for (const url of held.current.values()) URL.revokeObjectURL(url);
      held.current.clear();
    },
    [],
  );

  if (frames.length === 0) return <p class="muted">No frames yet: thumbnails appear as soon as a rover sends one.</p>;
  return (
    <div class="thumbs">
      {frames.map((f) => {
        const url = urls[f.id];
        return (
          <figure key={f.id}>
            {url ? (
              <img src={url} alt={`frame ${f.id} from ${f.client}`} width={160} height={120} />
            ) : (
              <div class="thumb-missing" role="img" aria-label={url === null ? 'image no longer stored' : 'image loading'}>
                {url === null ? 'image gone' : '…'}
              </div>
            )}
            <figcaption>
              <span>
                prediction <strong>{mm(f.prediction)}</strong>
              </span>
              <span>
                laser <strong>{mm(f.sensorValue)}</strong>
                {f.sensorStatus && <Badge tone="warn">{f.sensorStatus}</Badge>}
              </span>
              {f.suspect && (
                <span>
                  <Badge tone="bad">suspect laser</Badge>
                </span>
              )}
              <span class="muted">
                {f.client} · {f.modelVersion == null ? 'no model' : `v${f.modelVersion}`} · {time(f.time)}
              </span>
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}
