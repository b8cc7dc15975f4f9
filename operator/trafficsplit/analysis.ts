/**
 * Canary analysis against Prometheus: the built-in queries, template rendering for custom PromQL,
 * the `/api/v1/query` client and the threshold check.
 *
 * The metrics the built-in queries read (docs/trafficsplit.md, "Metrics"): Meshwright's proxies
 * export, for every request a workload *receives*,
 *
 *   meshwright_requests_total{destination_namespace, destination_service, response_code}     counter
 *   meshwright_request_duration_seconds_bucket{destination_namespace, destination_service, le} histogram
 *
 * `destination_*` rather than `namespace`/`service`: Prometheus' Kubernetes service discovery (and
 * the Prometheus Operator's ServiceMonitors) attach `namespace`, `service` and `pod` target labels,
 * which would rename scraped labels of the same name to `exported_namespace`/`exported_service`
 * (with the default `honor_labels: false`) and the queries would silently find nothing. Seconds, as
 * Prometheus naming wants; RequestDuration reports milliseconds. A test backend instrumented with
 * prom-client exports the same two series with a Counter and a Histogram.
 *
 * Nothing here reads the clock or the network by itself: `fetch` and `now` come in through options.
 */
import type { TrafficSplitSpec } from '../api/trafficsplit.js';
import { parseDuration } from '../api/duration.js';

export type CheckOutcome = 'Passed' | 'Failed' | 'Inconclusive';

/** The result of one metric in one check: what `status.analysis[]` holds. */
export interface CheckResult {
  name: string;
  result: CheckOutcome;
  /** The value the query returned; absent when the check was inconclusive. */
  value?: number;
  message?: string;
  /** When the check ran (RFC 3339). */
  time: string;
}

export type Metric = NonNullable<NonNullable<TrafficSplitSpec['analysis']>['metrics']>[number];

// ------------------------------------------------------------------------------ metric names

export const METRIC_NAMES = {
  requests: 'meshwright_requests_total',
  duration: 'meshwright_request_duration_seconds',
} as const;

export const METRIC_LABELS = {
  namespace: 'destination_namespace',
  service: 'destination_service',
  code: 'response_code',
} as const;

const canarySelector = `${METRIC_LABELS.namespace}="{{ namespace }}",${METRIC_LABELS.service}="{{ canary }}"`;

/**
 * The built-in queries, as templates. The success rate's numerator falls back to `vector(0)`: when
 * every request failed there is no non-5xx series at all, and without the fallback the ratio would
 * be "no data" (Inconclusive) instead of 0 (Failed). No traffic at all still gives no data (the
 * denominator is empty, or 0/0 = NaN), and no data never passes.
 */
export const BUILTIN_QUERIES = {
  RequestSuccessRate:
    `100 * (sum(rate(${METRIC_NAMES.requests}{${canarySelector},${METRIC_LABELS.code}!~"5.."}[{{ interval }}])) or vector(0))` +
    ` / sum(rate(${METRIC_NAMES.requests}{${canarySelector}}[{{ interval }}]))`,
  RequestDuration: `1000 * histogram_quantile(0.99, sum by (le) (rate(${METRIC_NAMES.duration}_bucket{${canarySelector}}[{{ interval }}])))`,
} as const;

// ------------------------------------------------------------------------------ templates

export const TEMPLATE_VARIABLES = ['namespace', 'target', 'canary', 'stable', 'interval'] as const;
export type TemplateVariables = Record<(typeof TEMPLATE_VARIABLES)[number], string>;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;

/**
 * `template` with every `{{ variable }}` (spaces optional) replaced. An unknown variable, an empty
 * `{{ }}` or an unclosed `{{` is a `TemplateError`, never passed on to Prometheus.
 */
export function renderQuery(template: string, vars: TemplateVariables): string {
  const rendered = template.replace(PLACEHOLDER, (_match, inner: string) => {
    const name = inner.trim();
    if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
      throw new TemplateError(
        `unknown template variable ${JSON.stringify(name)}; known: ${TEMPLATE_VARIABLES.join(', ')}`,
      );
    }
    return vars[name as keyof TemplateVariables];
  });
  if (rendered.includes('{{')) throw new TemplateError('unclosed "{{" in query');
  return rendered;
}

/** A Go duration as PromQL writes it: `1h30m`, `1m`, `250ms` (PromQL has no fractions nor `us`). */
export function promDuration(ms: number): string {
  let rest = Math.max(1, Math.round(ms));
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

export interface QueryTarget {
  /** The TrafficSplit's namespace. */
  namespace: string;
  spec: Pick<TrafficSplitSpec, 'targetRef' | 'backends'>;
}

/** The variables of `metric`'s query for a TrafficSplit. */
export const templateVariables = (
  target: QueryTarget,
  metric: Pick<Metric, 'interval'>,
): TemplateVariables => ({
  namespace: target.namespace,
  target: target.spec.targetRef.name,
  canary: target.spec.backends.canary.name,
  stable: target.spec.backends.stable.name,
  interval: promDuration(parseDuration(metric.interval)),
});

/** The PromQL `metric` runs: its own `query` when set, the built-in one otherwise, rendered. */
export function metricQuery(target: QueryTarget, metric: Metric): string {
  const template = metric.query ?? (metric.type === 'Custom' ? undefined : BUILTIN_QUERIES[metric.type]);
  if (template === undefined) throw new TemplateError(`metric ${metric.name} of type Custom has no query`);
  return renderQuery(template, templateVariables(target, metric));
}

// ------------------------------------------------------------------------------ Prometheus client

export type FetchFn = (input: URL, init: RequestInit) => Promise<Response>;

export interface QueryOptions {
  /** Defaults to the global `fetch`. */
  fetch?: FetchFn;
  /** The whole request, body included, is abandoned after this long. */
  timeoutMs: number;
  /** The evaluation time of the query (ms since the epoch): Prometheus' `time` parameter. */
  now: number;
}

export type QueryResult = { result: 'Value'; value: number } | { result: 'Inconclusive'; message: string };

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
const MAX_MESSAGE = 1024;

const inconclusive = (message: string): QueryResult => ({
  result: 'Inconclusive',
  message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message,
});

/**
 * Runs an instant query (`GET <address>/api/v1/query?query=…&time=…`) and reduces the answer to one
 * number. Anything else is Inconclusive, with the reason: an unreachable Prometheus, a timeout, an
 * HTTP error, `status: "error"`, no series, NaN or ±Inf ("no data"), more than one series
 * ("ambiguous": the query must aggregate to one number), or a range/string result. Never throws.
 */
export async function queryPrometheus(
  address: string,
  promql: string,
  options: QueryOptions,
): Promise<QueryResult> {
  const fetchFn: FetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  const url = new URL(`${address.replace(/\/+$/, '')}/api/v1/query`);
  url.searchParams.set('query', promql);
  url.searchParams.set('time', (options.now / 1000).toFixed(3));
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs);
  try {
    const response = await fetchFn(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: abort.signal,
    });
    const text = await response.text();
    const body = parseJson(text);
    if (isErrorBody(body)) {
      return inconclusive(
        `Prometheus answered HTTP ${response.status}: ${body.errorType ?? 'error'}: ${body.error ?? ''}`,
      );
    }
    if (!response.ok) return inconclusive(`Prometheus answered HTTP ${response.status}: ${snippet(text)}`);
    if (!isSuccessBody(body)) return inconclusive(`unexpected answer from Prometheus: ${snippet(text)}`);
    return reduce(body.data);
  } catch (err) {
    if (abort.signal.aborted) return inconclusive(`Prometheus query timed out after ${options.timeoutMs}ms`);
    return inconclusive(`cannot reach Prometheus at ${address}: ${describeError(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

interface SuccessBody {
  status: 'success';
  data: { resultType: string; result: unknown };
}

interface ErrorBody {
  status: 'error';
  errorType?: string;
  error?: string;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

const isErrorBody = (body: unknown): body is ErrorBody => isObject(body) && body.status === 'error';

const isSuccessBody = (body: unknown): body is SuccessBody =>
  isObject(body) &&
  body.status === 'success' &&
  isObject(body.data) &&
  typeof body.data.resultType === 'string' &&
  'result' in body.data;

function reduce(data: SuccessBody['data']): QueryResult {
  if (data.resultType === 'scalar') return sample(data.result, 'the query');
  if (data.resultType !== 'vector') {
    return inconclusive(`the query returned a ${data.resultType}, not an instant vector or a scalar`);
  }
  if (!Array.isArray(data.result))
    return inconclusive('unexpected answer from Prometheus: vector is not a list');
  const series = data.result as unknown[];
  if (series.length === 0) return inconclusive('no data: the query returned no series');
  if (series.length > 1) {
    const labels = series
      .slice(0, 3)
      .map((s) => JSON.stringify(isObject(s) ? (s.metric ?? {}) : {}))
      .join(', ');
    return inconclusive(
      `ambiguous: the query returned ${series.length} series (${labels}${series.length > 3 ? ', …' : ''}); aggregate it to one, e.g. with sum()`,
    );
  }
  const only = series[0];
  return sample(isObject(only) ? only.value : undefined, 'the series');
}

/** A `[time, "value"]` pair; NaN and ±Inf are "no data". */
function sample(pair: unknown, what: string): QueryResult {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[1] !== 'string') {
    return inconclusive(`unexpected answer from Prometheus: ${snippet(JSON.stringify(pair) ?? 'nothing')}`);
  }
  const text = pair[1];
  const value = text === '+Inf' || text === 'Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  if (Number.isNaN(value)) return inconclusive(`no data: ${what} returned NaN`);
  if (!Number.isFinite(value)) return inconclusive(`no data: ${what} returned ${text}`);
  return { result: 'Value', value };
}

const snippet = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}…` : text).trim();

/** fetch wraps network failures as `TypeError: fetch failed` with the real error as `cause`. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      parts.push(
        typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message,
      );
      e = e.cause;
    } else {
      parts.push(typeof e === 'string' ? e : (JSON.stringify(e) ?? typeof e));
      break;
    }
  }
  return parts.join(': ');
}

// ------------------------------------------------------------------------------ thresholds

/** The verdict on a value: inside `thresholdRange` (both ends inclusive) passes. */
export function evaluate(
  metric: Pick<Metric, 'thresholdRange'>,
  value: number,
): { result: 'Passed' | 'Failed'; message: string } {
  const { min, max } = metric.thresholdRange;
  if (!Number.isFinite(value)) return { result: 'Failed', message: `${value} is not a finite number` };
  if (min !== undefined && value < min) {
    return { result: 'Failed', message: `${formatValue(value)} is below the minimum ${min}` };
  }
  if (max !== undefined && value > max) {
    return { result: 'Failed', message: `${formatValue(value)} is above the maximum ${max}` };
  }
  return { result: 'Passed', message: `${formatValue(value)} is within ${describeRange(min, max)}` };
}

const describeRange = (min: number | undefined, max: number | undefined): string =>
  min !== undefined && max !== undefined ? `[${min}, ${max}]` : min !== undefined ? `≥ ${min}` : `≤ ${max}`;

/** A value as messages show it: six significant digits at most. */
export const formatValue = (value: number): string => String(Number(value.toPrecision(6)));

// ------------------------------------------------------------------------------ one check

export interface CheckOptions {
  fetch?: FetchFn;
  timeoutMs?: number;
  /** When the check runs (ms since the epoch): the query time and each result's `time`. */
  now: number;
}

/**
 * One analysis check: every metric of `spec.analysis`, queried in parallel, each judged against its
 * threshold. What the reconciler runs when the state machine asks for `runAnalysis`. Never throws.
 */
export async function runCheck(
  target: QueryTarget & { spec: Pick<TrafficSplitSpec, 'analysis'> },
  options: CheckOptions,
): Promise<CheckResult[]> {
  const analysis = target.spec.analysis;
  const metrics = analysis?.metrics ?? [];
  const time = new Date(options.now).toISOString();
  const address = analysis?.prometheus?.address;
  return Promise.all(
    metrics.map(async (metric): Promise<CheckResult> => {
      if (address === undefined) {
        return { name: metric.name, result: 'Inconclusive', message: 'no prometheus.address', time };
      }
      let promql: string;
      try {
        promql = metricQuery(target, metric);
      } catch (err) {
        return { name: metric.name, result: 'Inconclusive', message: describeError(err), time };
      }
      const answer = await queryPrometheus(address, promql, {
        ...(options.fetch ? { fetch: options.fetch } : {}),
        timeoutMs: options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
        now: options.now,
      });
      if (answer.result === 'Inconclusive') {
        return { name: metric.name, result: 'Inconclusive', message: answer.message, time };
      }
      const verdict = evaluate(metric, answer.value);
      return {
        name: metric.name,
        result: verdict.result,
        value: answer.value,
        message: verdict.message,
        time,
      };
    }),
  );
}
