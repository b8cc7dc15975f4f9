import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServicePolicySpec } from '../../api/index.js';
import { assertAccepted, serverHttpFilters, servicePolicy, snapshot } from './fixtures.js';
import { serverListener } from './names.js';
import { TYPE, type Message } from './protos.js';
import { fractionalPercent, protoDuration } from './resilience.js';
import { clusters, listeners, routeConfigurations } from './resources.js';

type Resilience = NonNullable<ServicePolicySpec['resilience']>;

const OUTBOUND = 'checkout.shop.svc.cluster.local:8080';
const CLUSTER = 'outbound|8080||checkout.shop.svc.cluster.local';

/** The resources of checkout under a policy with `resilience`, each checked by both acceptance checks. */
function build(resilience: unknown) {
  const s = snapshot({ servicePolicies: [servicePolicy({ resilience: resilience as Resilience })] });
  const all = {
    listeners: listeners(s),
    routes: routeConfigurations(s),
    clusters: clusters(s),
  };
  assertAccepted(TYPE.listener, all.listeners);
  assertAccepted(TYPE.routeConfiguration, all.routes);
  assertAccepted(TYPE.cluster, all.clusters);
  const route = (
    (all.routes.find((r) => r.name === OUTBOUND)!.virtual_hosts as Message[])[0]!.routes as {
      route: Message;
    }[]
  )[0]!.route;
  const cluster = all.clusters.find((c) => c.name === CLUSTER)!;
  const hcm = (all.listeners.find((l) => l.name === OUTBOUND)!.api_listener as { api_listener: Message })
    .api_listener;
  const clientFilters = hcm.http_filters as { name: string; typed_config: Message; is_optional?: boolean }[];
  const server = all.listeners.find((l) => l.name === serverListener('10.1.0.1', 50051))!;
  return { route, cluster, clientFilters, serverFilters: serverHttpFilters(server) };
}

describe('durations and percentages', () => {
  it('converts Go durations to google.protobuf.Duration without zero fields', () => {
    assert.deepEqual(protoDuration('1m30s'), { seconds: 90 });
    assert.deepEqual(protoDuration('250ms'), { nanos: 250_000_000 });
    assert.deepEqual(protoDuration('1.5s'), { seconds: 1, nanos: 500_000_000 });
  });

  it('expresses percentages per million, so decimals survive', () => {
    assert.deepEqual(fractionalPercent(12.5), { numerator: 125_000, denominator: 'MILLION' });
    assert.deepEqual(fractionalPercent(0), { denominator: 'MILLION' });
  });
});

describe('resilience from the ServicePolicy', () => {
  it('a request timeout is the route timeout (Envoy) and max_stream_duration (gRPC)', () => {
    const { route } = build({ timeouts: { request: '2s', idle: '5m' } });
    assert.deepEqual(route.timeout, { seconds: 2 });
    assert.deepEqual(route.max_stream_duration, { max_stream_duration: { seconds: 2 } });
    assert.deepEqual(route.idle_timeout, { seconds: 300 });
  });

  it('retries become a retry_policy with the retry_on conditions, attempts, per-try timeout and backoff', () => {
    const { route } = build({
      retries: {
        attempts: 3,
        perTryTimeout: '500ms',
        retryOn: ['unavailable', 'cancelled', 'connect-failure'],
        backoff: { baseInterval: '10ms', maxInterval: '1s' },
      },
    });
    assert.deepEqual(route.retry_policy, {
      retry_on: 'cancelled,connect-failure,unavailable',
      num_retries: { value: 3 },
      per_try_timeout: { nanos: 500_000_000 },
      retry_back_off: { base_interval: { nanos: 10_000_000 }, max_interval: { seconds: 1 } },
    });
  });

  it('zero attempts means no retry policy', () => {
    assert.equal(build({ retries: { attempts: 0 } }).route.retry_policy, undefined);
  });

  it('circuit breaker limits and the retry budget are the cluster thresholds', () => {
    const { cluster } = build({
      timeouts: { connect: '1s' },
      retries: { attempts: 2, budget: { percent: 25, minRetriesPerSecond: 5 } },
      circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 50, maxRetries: 3 },
    });
    assert.deepEqual(cluster.connect_timeout, { seconds: 1 });
    assert.deepEqual(cluster.circuit_breakers, {
      thresholds: [
        {
          max_connections: { value: 100 },
          max_pending_requests: { value: 10 },
          max_requests: { value: 50 },
          max_retries: { value: 3 },
          retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: { value: 5 } },
        },
      ],
    });
  });

  it('outlier detection sets consecutive_5xx (Envoy) and the failure-percentage algorithm (both)', () => {
    const { cluster } = build({
      circuitBreaker: {
        outlierDetection: {
          consecutive5xxErrors: 3,
          interval: '1s',
          baseEjectionTime: '30s',
          maxEjectionPercent: 50,
        },
      },
    });
    assert.deepEqual(cluster.outlier_detection, {
      consecutive_5xx: { value: 3 },
      interval: { seconds: 1 },
      base_ejection_time: { seconds: 30 },
      max_ejection_percent: { value: 50 },
      enforcing_success_rate: { value: 0 },
      failure_percentage_threshold: { value: 50 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_minimum_hosts: { value: 2 },
      failure_percentage_request_volume: { value: 3 },
    });
  });

  it('fault injection is the HTTP fault filter before the router on the client side', () => {
    const { clientFilters, serverFilters } = build({
      faultInjection: {
        delay: { fixedDelay: '200ms', percentage: 50 },
        abort: { grpcStatus: 'UNAVAILABLE', percentage: 10 },
      },
    });
    assert.deepEqual(
      clientFilters.map((f) => f.name),
      ['envoy.filters.http.fault', 'envoy.filters.http.router'],
    );
    assert.deepEqual(clientFilters[0]!.typed_config, {
      '@type': TYPE.fault,
      delay: {
        fixed_delay: { nanos: 200_000_000 },
        percentage: { numerator: 500_000, denominator: 'MILLION' },
      },
      abort: { grpc_status: 14, percentage: { numerator: 100_000, denominator: 'MILLION' } },
    });
    assert.ok(!serverFilters.some((f) => f.name === 'envoy.filters.http.fault'));
  });

  it('an HTTP abort keeps its status', () => {
    const { clientFilters } = build({ faultInjection: { abort: { httpStatus: 503 } } });
    assert.deepEqual(clientFilters[0]!.typed_config.abort, {
      http_status: 503,
      percentage: { numerator: 1_000_000, denominator: 'MILLION' },
    });
  });

  it('a rate limit is an optional local rate limit filter on the server side (gRPC ignores it)', () => {
    const { serverFilters } = build({ rateLimit: { requestsPerSecond: 100, burst: 20, scope: 'PerCaller' } });
    const filter = serverFilters.find((f) => f.name === 'envoy.filters.http.local_ratelimit') as {
      typed_config: Message;
      is_optional?: boolean;
    };
    assert.equal(filter.is_optional, true);
    assert.deepEqual(filter.typed_config.token_bucket, {
      max_tokens: 20,
      tokens_per_fill: { value: 100 },
      fill_interval: { seconds: 1 },
    });
    assert.equal(filter.typed_config.local_rate_limit_per_downstream_connection, true);
    assert.equal(serverFilters.at(-1)!.name, 'envoy.filters.http.router');
  });

  it('a Service without a policy gets none of it', () => {
    const s = snapshot();
    const cluster = clusters(s)[0]!;
    assert.equal(cluster.circuit_breakers, undefined);
    assert.equal(cluster.outlier_detection, undefined);
  });
});
