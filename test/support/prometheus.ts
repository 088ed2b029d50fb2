/**
 * A reader of Prometheus's text exposition format (version 0.0.4), enough for tests: TYPE lines, and samples with
 * escaped label values and an optional timestamp. (parse-prometheus-text-format, the npm parser, collapses every
 * labelled histogram into one sample without labels, count or sum: it cannot read these endpoints.)
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const [, keyword, name, type] = line.split(/\s+/);
      if (keyword === 'TYPE') types.set(name, type);
      continue;
    }
    try {
      samples.push(parseSample(line));
    } catch (err) {
      throw new Error(`line ${index + 1} of the exposition: ${(err as Error).message}: ${line}`, { cause: err });
    }
  }
  return { types, samples };
}

function parseSample(line: string): Sample {
  let at = 0;
  while (at < line.length && line[at] !== '{' && line[at] !== ' ') at++;
  const name = line.slice(0, at);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name "${name}"`);
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    for (;;) {
      while (line[at] === ' ' || line[at] === ',') at++;
      if (line[at] === '}') {
        at++;
        break;
      }
      const eq = line.indexOf('=', at);
      if (eq < 0 || line[eq + 1] !== '"') throw new Error('bad label');
      const key = line.slice(at, eq).trim();
      let value = '';
      at = eq + 2;
      for (; line[at] !== '"'; at++) {
        if (at >= line.length) throw new Error('unterminated label value');
        if (line[at] === '\\') {
          at++;
          value += line[at] === 'n' ? '\n' : line[at];
        } else value += line[at];
      }
      at++;
      labels[key] = value;
    }
  }
  const [value, timestamp, ...rest] = line.slice(at).trim().split(/\s+/);
  if (value === undefined || rest.length > 0 || (timestamp !== undefined && !Number.isFinite(Number(timestamp))))
    throw new Error('expected a value and an optional timestamp');
  // As Prometheus parses a value (Go's ParseFloat): NaN and Inf in any case; prom-client writes NaN as "Nan".
  const special: Record<string, number> = { nan: NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity };
  const number = value.toLowerCase() in special ? special[value.toLowerCase()] : Number(value);
  if (Number.isNaN(number) && value.toLowerCase() !== 'nan') throw new Error(`bad value "${value}"`);
  return { name, labels, value: number };
}

/** One scrape of a Prometheus endpoint, parsed. */
export class Scrape {
  constructor(
    readonly types: Map<string, string>,
    readonly samples: Sample[],
  ) {}

  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    const { types, samples } = parseExposition(await res.text());
    return new Scrape(types, samples);
  }

  /** The samples of the series `name` (e.g. `x_total`, `x_bucket`, `x_count`) whose labels include `labels`. */
  series(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The sum of the series `name` whose labels include `labels`; 0 when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.series(name, labels).reduce((n, s) => n + s.value, 0);
  }
}
