/**
 * `ServicePolicy.spec.resilience` as xDS: fields of the Route (timeouts, retries), of the Cluster
 * (circuit breakers, outlier detection, connect timeout) and HTTP filters (fault injection on the
 * client side, local rate limit on the server side). Each field is chosen so that both consumers
 * act on it: where Envoy and gRPC read different fields for one behaviour, both are set (a route
 * timeout is `timeout` for Envoy and `max_stream_duration` for gRPC).
 */
import { parseDuration, type ServicePolicySpec } from '../../api/index.js';
import { TYPE, type Message } from './protos.js';

export type Resilience = NonNullable<ServicePolicySpec['resilience']>;
type FaultInjection = NonNullable<Resilience['faultInjection']>;
type RateLimit = NonNullable<Resilience['rateLimit']>;

/** A Go duration string as a `google.protobuf.Duration`, without zero fields (proto3 drops them). */
export function protoDuration(text: string): Message {
  return protoDurationMs(parseDuration(text));
}

export function protoDurationMs(ms: number): Message {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return { ...(seconds > 0 ? { seconds } : {}), ...(nanos > 0 ? { nanos } : {}) };
}

/** A 0–100 percentage as a `FractionalPercent` per million (percentages may have decimals). */
export function fractionalPercent(percentage: number): Message {
  const numerator = Math.round(percentage * 10_000);
  return { ...(numerator > 0 ? { numerator } : {}), denominator: 'MILLION' };
}

/** gRPC status codes by name (`google.rpc.Code`). */
export const GRPC_STATUS_CODE: Record<string, number> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/**
 * Route fields: `timeout` (Envoy) and `max_stream_duration.max_stream_duration` (gRPC, gRFC A31)
 * from `timeouts.request`; `idle_timeout` from `timeouts.idle`; `retry_policy` from `retries`.
 * `retryOn` values are already Envoy's `retry_on` names; gRPC acts on the gRPC-status ones
 * (`cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`) and ignores
 * the others.
 */
export function routeResilience(resilience: Resilience | undefined): Message {
  const route: Message = {};
  const request = resilience?.timeouts?.request;
  if (request !== undefined) {
    route.timeout = protoDuration(request);
    route.max_stream_duration = { max_stream_duration: protoDuration(request) };
  }
  const idle = resilience?.timeouts?.idle;
  if (idle !== undefined) route.idle_timeout = protoDuration(idle);
  const retries = resilience?.retries;
  if (retries !== undefined && retries.attempts > 0) {
    route.retry_policy = {
      retry_on: [...retries.retryOn].sort().join(','),
      num_retries: { value: retries.attempts },
      ...(retries.perTryTimeout !== undefined
        ? { per_try_timeout: protoDuration(retries.perTryTimeout) }
        : {}),
      retry_back_off: {
        base_interval: protoDuration(retries.backoff.baseInterval),
        max_interval: protoDuration(retries.backoff.maxInterval),
      },
    };
  }
  return route;
}

/**
 * Cluster fields: `circuit_breakers` (one DEFAULT-priority threshold; the retry budget goes there
 * too, as Envoy's `retry_budget`), `outlier_detection` and `connect_timeout`.
 *
 * Outlier detection: Envoy counts `consecutive_5xx`; gRPC (gRFC A50) only implements the
 * success-rate and failure-percentage algorithms. So both are set: `consecutive_5xx` for Envoy, and
 * the failure-percentage algorithm for both (a host failing ≥ 50 % of at least `consecutive5xxErrors`
 * requests in an `interval` is ejected; at least 2 hosts are needed, so a lone endpoint is never
 * ejected). Success-rate ejection, on by default in both, is switched off (`enforcing_success_rate: 0`)
 * so only what the policy says ejects.
 */
export function clusterResilience(resilience: Resilience | undefined): Message {
  const cluster: Message = {};
  const connect = resilience?.timeouts?.connect;
  if (connect !== undefined) cluster.connect_timeout = protoDuration(connect);
  const breaker = resilience?.circuitBreaker;
  const budget = resilience?.retries?.budget;
  const threshold: Message = {
    ...(breaker?.maxConnections !== undefined ? { max_connections: { value: breaker.maxConnections } } : {}),
    ...(breaker?.maxPendingRequests !== undefined
      ? { max_pending_requests: { value: breaker.maxPendingRequests } }
      : {}),
    ...(breaker?.maxRequests !== undefined ? { max_requests: { value: breaker.maxRequests } } : {}),
    ...(breaker?.maxRetries !== undefined ? { max_retries: { value: breaker.maxRetries } } : {}),
    ...(budget !== undefined
      ? {
          retry_budget: {
            budget_percent: { value: budget.percent },
            min_retry_concurrency: { value: budget.minRetriesPerSecond },
          },
        }
      : {}),
  };
  if (Object.keys(threshold).length > 0) cluster.circuit_breakers = { thresholds: [threshold] };
  const outlier = breaker?.outlierDetection;
  if (outlier !== undefined) {
    cluster.outlier_detection = {
      consecutive_5xx: { value: outlier.consecutive5xxErrors },
      interval: protoDuration(outlier.interval),
      base_ejection_time: protoDuration(outlier.baseEjectionTime),
      max_ejection_percent: { value: outlier.maxEjectionPercent },
      enforcing_success_rate: { value: 0 },
      failure_percentage_threshold: { value: 50 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_minimum_hosts: { value: 2 },
      failure_percentage_request_volume: { value: outlier.consecutive5xxErrors },
    };
  }
  return cluster;
}

/**
 * The HTTP fault filter's config (client side: in the outbound connection manager of the target
 * Service, so callers see the faults, as gRFC A33 and Envoy's client-side filter do).
 */
export function faultConfig(fault: FaultInjection): Message {
  const config: Message = { '@type': TYPE.fault };
  if (fault.delay !== undefined) {
    config.delay = {
      fixed_delay: protoDuration(fault.delay.fixedDelay),
      percentage: fractionalPercent(fault.delay.percentage),
    };
  }
  if (fault.abort !== undefined) {
    const { httpStatus, grpcStatus, percentage } = fault.abort;
    config.abort = {
      ...(httpStatus !== undefined ? { http_status: httpStatus } : {}),
      ...(grpcStatus !== undefined ? { grpc_status: GRPC_STATUS_CODE[grpcStatus] } : {}),
      percentage: fractionalPercent(percentage),
    };
  }
  return config;
}

/**
 * Envoy's local rate limit (server side). A token bucket of `burst` tokens refilled with
 * `requestsPerSecond` every second, enabled and enforced for 100 % of requests. `PerCaller` becomes
 * a bucket per downstream connection (`local_rate_limit_per_downstream_connection`): each caller's
 * proxy holds its own connection, so this is a per-caller limit without descriptors. gRPC has no
 * rate-limit filter: the filter is marked optional, so gRPC servers accept the Listener and ignore it.
 */
export function localRateLimitConfig(rateLimit: RateLimit): Message {
  const full = { default_value: { numerator: 100 }, runtime_key: 'meshwright_rate_limit_enabled' };
  return {
    '@type': TYPE.localRateLimit,
    stat_prefix: 'meshwright_rate_limit',
    token_bucket: {
      max_tokens: rateLimit.burst ?? rateLimit.requestsPerSecond,
      tokens_per_fill: { value: rateLimit.requestsPerSecond },
      fill_interval: { seconds: 1 },
    },
    filter_enabled: full,
    filter_enforced: { ...full, runtime_key: 'meshwright_rate_limit_enforced' },
    ...(rateLimit.scope === 'PerCaller' ? { local_rate_limit_per_downstream_connection: true } : {}),
  };
}
