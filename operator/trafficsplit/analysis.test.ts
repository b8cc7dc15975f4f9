import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  BUILTIN_QUERIES,
  evaluate,
  metricQuery,
  promDuration,
  queryPrometheus,
  renderQuery,
  runCheck,
  TemplateError,
  type FetchFn,
  type TemplateVariables,
} from './analysis.js';
import { spec, T0 } from './fixtures.js';

const vars: TemplateVariables = {
  namespace: 'shop',
  target: 'checkout',
  canary: 'checkout-canary',
  stable: 'checkout-stable',
  interval: '1m',
};

describe('renderQuery', () => {
  it('replaces every variable, with or without spaces inside the braces', () => {
    assert.equal(
      renderQuery('{{namespace}}/{{ target }}/{{  canary}}/{{stable  }}/[{{ interval }}]', vars),
      'shop/checkout/checkout-canary/checkout-stable/[1m]',
    );
  });

  it('replaces a variable used twice', () => {
    assert.equal(renderQuery('{{ canary }} {{ canary }}', vars), 'checkout-canary checkout-canary');
  });

  it('refuses an unknown variable and names it', () => {
    assert.throws(
      () => renderQuery('x{service="{{ service }}"}', vars),
      (err: unknown) => {
        assert.ok(err instanceof TemplateError);
        assert.match(err.message, /unknown template variable "service"/);
        return true;
      },
    );
  });

  it('refuses an empty placeholder and an unclosed one', () => {
    assert.throws(() => renderQuery('x{{ }}', vars), TemplateError);
    assert.throws(() => renderQuery('x{{ canary', vars), TemplateError);
  });

  it('leaves PromQL braces alone', () => {
    assert.equal(renderQuery('sum(rate(x{a="b"}[5m]))', vars), 'sum(rate(x{a="b"}[5m]))');
  });
});

describe('built-in queries', () => {
  const target = { namespace: 'shop', spec: spec() };

  it('RequestSuccessRate is 100 × non-5xx / all of the canary, over the metric interval', () => {
    const q = metricQuery(target, {
      name: 'sr',
      type: 'RequestSuccessRate',
      thresholdRange: { min: 99 },
      interval: '2m',
    });
    assert.equal(
      q,
      '100 * (sum(rate(meshwright_requests_total{destination_namespace="shop",destination_service="checkout-canary",response_code!~"5.."}[2m])) or vector(0))' +
        ' / sum(rate(meshwright_requests_total{destination_namespace="shop",destination_service="checkout-canary"}[2m]))',
    );
  });

  it('RequestDuration is the p99 of the canary in milliseconds', () => {
    const q = metricQuery(target, {
      name: 'p99',
      type: 'RequestDuration',
      thresholdRange: { max: 500 },
      interval: '30s',
    });
    assert.equal(
      q,
      '1000 * histogram_quantile(0.99, sum by (le) (rate(meshwright_request_duration_seconds_bucket{destination_namespace="shop",destination_service="checkout-canary"}[30s])))',
    );
  });

  it('a query on a built-in type replaces the built-in one', () => {
    const q = metricQuery(target, {
      name: 'sr',
      type: 'RequestSuccessRate',
      query: 'my_rate{svc="{{ canary }}"}',
      thresholdRange: { min: 99 },
      interval: '1m',
    });
    assert.equal(q, 'my_rate{svc="checkout-canary"}');
  });

  it('every built-in query only uses known variables', () => {
    for (const template of Object.values(BUILTIN_QUERIES))
      assert.doesNotThrow(() => renderQuery(template, vars));
  });

  it('writes the interval as a PromQL duration', () => {
    assert.equal(promDuration(60_000), '1m');
    assert.equal(promDuration(90_000), '1m30s');
    assert.equal(promDuration(5_400_000), '1h30m');
    assert.equal(promDuration(250), '250ms');
  });
});

describe('evaluate', () => {
  it('passes inside the range, both ends inclusive', () => {
    const m = { thresholdRange: { min: 99, max: 100 } };
    assert.equal(evaluate(m, 99).result, 'Passed');
    assert.equal(evaluate(m, 100).result, 'Passed');
    assert.equal(evaluate(m, 99.5).result, 'Passed');
  });

  it('fails below min and above max, saying which', () => {
    assert.deepEqual(evaluate({ thresholdRange: { min: 99 } }, 98.5), {
      result: 'Failed',
      message: '98.5 is below the minimum 99',
    });
    assert.deepEqual(evaluate({ thresholdRange: { max: 500 } }, 612.3), {
      result: 'Failed',
      message: '612.3 is above the maximum 500',
    });
  });

  it('checks one end only when only one is set', () => {
    assert.equal(evaluate({ thresholdRange: { min: 99 } }, 1e9).result, 'Passed');
    assert.equal(evaluate({ thresholdRange: { max: 500 } }, -1).result, 'Passed');
  });
});

// ---------------------------------------------------------------------------------------- client

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A tiny stand-in for Prometheus on 127.0.0.1: each test sets what `/api/v1/query` answers. */
class FakePrometheus {
  server!: Server;
  handler: Handler = (_req, res) => res.end();
  requests: URL[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.requests.push(url);
      this.handler(req, res, url);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get address(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(status: number, body: unknown): void {
    this.handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const vector = (...values: string[]) => ({
  status: 'success',
  data: {
    resultType: 'vector',
    result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [T0 / 1000, v] })),
  },
});

describe('queryPrometheus against a fake Prometheus', () => {
  const prom = new FakePrometheus();
  before(() => prom.start());
  after(() => prom.stop());
  const query = (promql = 'up', timeoutMs = 5000) =>
    queryPrometheus(prom.address, promql, { timeoutMs, now: T0 });

  it('GETs /api/v1/query with the query and the evaluation time', async () => {
    prom.answer(200, vector('1'));
    prom.requests = [];
    await query('sum(up{job="x"})');
    const url = prom.requests[0]!;
    assert.equal(url.pathname, '/api/v1/query');
    assert.equal(url.searchParams.get('query'), 'sum(up{job="x"})');
    assert.equal(url.searchParams.get('time'), (T0 / 1000).toFixed(3));
  });

  it('keeps a path prefix of the address', async () => {
    prom.answer(200, vector('1'));
    prom.requests = [];
    await queryPrometheus(`${prom.address}/prometheus/`, 'up', { timeoutMs: 5000, now: T0 });
    assert.equal(prom.requests[0]!.pathname, '/prometheus/api/v1/query');
  });

  it('returns the value of exactly one sample', async () => {
    prom.answer(200, vector('99.5'));
    assert.deepEqual(await query(), { result: 'Value', value: 99.5 });
  });

  it('returns a scalar result', async () => {
    prom.answer(200, { status: 'success', data: { resultType: 'scalar', result: [T0 / 1000, '42'] } });
    assert.deepEqual(await query(), { result: 'Value', value: 42 });
  });

  it('is Inconclusive "no data" on an empty vector', async () => {
    prom.answer(200, vector());
    const r = await query();
    assert.equal(r.result, 'Inconclusive');
    assert.match(r.result === 'Inconclusive' ? r.message : '', /^no data: the query returned no series$/);
  });

  it('is Inconclusive "no data" on NaN (no traffic: 0/0) and on ±Inf', async () => {
    for (const v of ['NaN', '+Inf', '-Inf']) {
      prom.answer(200, vector(v));
      const r = await query();
      assert.equal(r.result, 'Inconclusive', v);
      assert.match(r.result === 'Inconclusive' ? r.message : '', /^no data/);
    }
  });

  it('is Inconclusive "ambiguous" when the query returns several series', async () => {
    prom.answer(200, vector('1', '2'));
    const r = await query();
    assert.equal(r.result, 'Inconclusive');
    assert.match(
      r.result === 'Inconclusive' ? r.message : '',
      /ambiguous: the query returned 2 series .*sum\(\)/,
    );
  });

  it('is Inconclusive with Prometheus\' message on status "error" (bad query: HTTP 400)', async () => {
    prom.answer(400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 5' });
    assert.deepEqual(await query('sum('), {
      result: 'Inconclusive',
      message: 'Prometheus answered HTTP 400: bad_data: parse error at char 5',
    });
  });

  it('is Inconclusive on status "error" even with HTTP 200', async () => {
    prom.answer(200, { status: 'error', errorType: 'execution', error: 'query timed out' });
    const r = await query();
    assert.equal(r.result, 'Inconclusive');
    assert.match(r.result === 'Inconclusive' ? r.message : '', /execution: query timed out/);
  });

  it('is Inconclusive on an HTTP 500 with a plain-text body', async () => {
    prom.answer(500, 'internal error\n');
    assert.deepEqual(await query(), {
      result: 'Inconclusive',
      message: 'Prometheus answered HTTP 500: internal error',
    });
  });

  it('is Inconclusive on a range vector', async () => {
    prom.answer(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    const r = await query();
    assert.equal(r.result, 'Inconclusive');
    assert.match(r.result === 'Inconclusive' ? r.message : '', /matrix/);
  });

  it('is Inconclusive on a body that is not Prometheus JSON', async () => {
    prom.answer(200, '<html>proxy login</html>');
    const r = await query();
    assert.equal(r.result, 'Inconclusive');
    assert.match(r.result === 'Inconclusive' ? r.message : '', /unexpected answer from Prometheus/);
  });

  it('is Inconclusive with "timed out" when Prometheus does not answer in time', async () => {
    prom.handler = () => {
      /* never answers; stop() closes the connection */
    };
    const r = await query('up', 50);
    assert.deepEqual(r, { result: 'Inconclusive', message: 'Prometheus query timed out after 50ms' });
  });
});

describe('queryPrometheus when Prometheus is unreachable', () => {
  it('is Inconclusive with the connection error', async () => {
    // A port that was just free: nothing listens there any more.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await queryPrometheus(`http://127.0.0.1:${port}`, 'up', { timeoutMs: 5000, now: T0 });
    assert.equal(r.result, 'Inconclusive');
    assert.match(
      r.result === 'Inconclusive' ? r.message : '',
      /cannot reach Prometheus at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });

  it('never throws when an injected fetch throws something odd', async () => {
    const fetchFn: FetchFn = () => Promise.reject(new Error('boom'));
    const r = await queryPrometheus('http://prom:9090', 'up', { fetch: fetchFn, timeoutMs: 1000, now: T0 });
    assert.deepEqual(r, {
      result: 'Inconclusive',
      message: 'cannot reach Prometheus at http://prom:9090: boom',
    });
  });
});

describe('runCheck', () => {
  const answering =
    (values: Record<string, string>): FetchFn =>
    (url) => {
      const q = url.searchParams.get('query') ?? '';
      const key = Object.keys(values).find((k) => q.includes(k));
      const body = key === undefined ? vector() : vector(values[key]!);
      return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
    };

  const s = spec({
    analysis: {
      prometheus: { address: 'http://prom:9090' },
      metrics: [
        { name: 'success-rate', type: 'RequestSuccessRate', thresholdRange: { min: 99 } },
        { name: 'latency', type: 'RequestDuration', thresholdRange: { max: 500 } },
        {
          name: 'errors',
          type: 'Custom',
          query: 'sum(my_errors{svc="{{ canary }}"})',
          thresholdRange: { max: 0 },
        },
      ],
    },
  });

  it('queries every metric and judges each against its threshold', async () => {
    const results = await runCheck(
      { namespace: 'shop', spec: s },
      {
        fetch: answering({ meshwright_requests_total: '99.9', histogram_quantile: '612', my_errors: '0' }),
        now: T0,
      },
    );
    const time = new Date(T0).toISOString();
    assert.deepEqual(results, [
      { name: 'success-rate', result: 'Passed', value: 99.9, message: '99.9 is within ≥ 99', time },
      { name: 'latency', result: 'Failed', value: 612, message: '612 is above the maximum 500', time },
      { name: 'errors', result: 'Passed', value: 0, message: '0 is within ≤ 0', time },
    ]);
  });

  it('reports a metric with no data as Inconclusive, never Passed', async () => {
    const results = await runCheck({ namespace: 'shop', spec: s }, { fetch: answering({}), now: T0 });
    assert.deepEqual(
      results.map((r) => [r.name, r.result, r.value]),
      [
        ['success-rate', 'Inconclusive', undefined],
        ['latency', 'Inconclusive', undefined],
        ['errors', 'Inconclusive', undefined],
      ],
    );
  });

  it('reports a query with an unknown variable as Inconclusive without calling Prometheus', async () => {
    let calls = 0;
    const counting: FetchFn = () => {
      calls++;
      return Promise.resolve(new Response(JSON.stringify(vector('1'))));
    };
    const bad = spec({
      analysis: {
        prometheus: { address: 'http://prom:9090' },
        metrics: [{ name: 'x', type: 'Custom', query: 'up{a="{{ pod }}"}', thresholdRange: { min: 1 } }],
      },
    });
    const [r] = await runCheck({ namespace: 'shop', spec: bad }, { fetch: counting, now: T0 });
    assert.equal(r!.result, 'Inconclusive');
    assert.match(r!.message!, /unknown template variable "pod"/);
    assert.equal(calls, 0);
  });
});
