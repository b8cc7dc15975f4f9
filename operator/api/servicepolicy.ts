import { z } from 'zod';
import {
  conditions,
  dnsLabel,
  duration,
  labelSelector,
  listAtomic,
  listMap,
  listSet,
  observedGeneration,
  percentage,
  withRules,
} from './common.js';
import { parseDuration } from './duration.js';
import { defineKind } from './kind.js';

/**
 * The pod label the injector sets to the pod's service account, so that NetworkPolicies (which
 * cannot see service accounts) can select callers by identity.
 */
export const SERVICE_ACCOUNT_LABEL = 'meshwright.io/service-account';

const IANA_SERVICE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A port number or name; both branches' bounds land on the one int-or-string node of the CRD. */
const port = z
  .union([z.int().min(1).max(65535), z.string().max(15).regex(IANA_SERVICE_NAME)])
  .describe(
    'A port of the target Service: its number (1-65535) or its name (`http`); named ports are resolved through the Service.',
  );

const ipBlock = z
  .object({
    cidr: z
      .string()
      .regex(
        /^(([0-9]{1,3}\.){3}[0-9]{1,3}\/([0-9]|[12][0-9]|3[0-2])|[0-9a-fA-F:]+:[0-9a-fA-F:]*\/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$/,
      )
      .describe('An IPv4 or IPv6 range in CIDR notation (`10.0.0.0/8`).'),
    except: listAtomic(
      z
        .array(z.string().describe('A CIDR range.'))
        .max(32)
        .describe('Ranges inside `cidr` that are not included.'),
    ).optional(),
  })
  .describe('Callers by address range: for clients outside the mesh, such as a load balancer.');

const source = withRules(
  z
    .object({
      serviceAccounts: listSet(
        z
          .array(
            z
              .string()
              .max(317)
              .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(\*|[a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/)
              .describe('A service account as `namespace/name`, or `namespace/*` for any in that namespace.'),
          )
          .max(64)
          .describe('Callers running as these service accounts (their mesh identity).'),
      ).optional(),
      namespaces: listSet(
        z.array(dnsLabel('A namespace name')).max(64).describe('Callers in these namespaces.'),
      ).optional(),
      namespaceSelector: labelSelector('Callers in namespaces whose labels match').optional(),
      identities: listSet(
        z
          .array(
            z
              .string()
              .max(2048)
              .regex(/^spiffe:\/\/[a-z0-9.-]+\/\S+$/)
              .describe('A SPIFFE ID such as `spiffe://cluster.local/ns/shop/sa/frontend`.'),
          )
          .max(64)
          .describe('Callers with these SPIFFE identities (for identities from another trust domain).'),
      ).optional(),
      ipBlocks: listAtomic(
        z.array(ipBlock).max(32).describe('Callers from these address ranges.'),
      ).optional(),
    })
    .describe(
      'Who a rule matches. Within one entry every field given must match; entries in `from` are alternatives.',
    ),
  [
    {
      rule: 'has(self.serviceAccounts) || has(self.namespaces) || has(self.namespaceSelector) || has(self.identities) || has(self.ipBlocks)',
      message:
        'a from entry must name at least one of serviceAccounts, namespaces, namespaceSelector, identities or ipBlocks',
      holds: (s) => Object.values(s).some((v) => v !== undefined),
    },
    {
      rule: '!has(self.ipBlocks) || !(has(self.serviceAccounts) || has(self.namespaces) || has(self.namespaceSelector) || has(self.identities))',
      message:
        'ipBlocks cannot be combined with identities, serviceAccounts or namespaces in one from entry; use two entries',
      fieldPath: '.ipBlocks',
      holds: (s) =>
        s.ipBlocks === undefined ||
        [s.serviceAccounts, s.namespaces, s.namespaceSelector, s.identities].every((v) => v === undefined),
    },
  ],
);

const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

const destination = z
  .object({
    ports: listAtomic(
      z.array(port).max(64).describe('Ports of the target Service; all ports when absent.'),
    ).optional(),
    methods: listSet(
      z
        .array(z.enum(HTTP_METHODS).describe('An HTTP method.'))
        .max(9)
        .describe('HTTP methods (L7, enforced by the proxies).'),
    ).optional(),
    paths: listSet(
      z
        .array(
          z
            .string()
            .max(1024)
            .regex(/^\/[^*?#\s]*\*?$/)
            .describe('A request path: exact (`/api/orders`) or a prefix ending in `*` (`/api/*`).'),
        )
        .max(64)
        .describe('Request paths (L7, enforced by the proxies).'),
    ).optional(),
  })
  .describe('What a rule matches on the target: ports (L4), methods and paths (L7).');

const rule = z
  .object({
    name: dnsLabel('Name of the rule, unique in the policy; used in status and Events'),
    action: z
      .enum(['Allow', 'Deny'])
      .default('Allow')
      .describe('`Allow` or `Deny` what the rule matches. Deny rules take precedence.'),
    from: listAtomic(
      z.array(source).max(32).describe('The callers this rule matches; any caller when absent.'),
    ).optional(),
    to: listAtomic(
      z.array(destination).max(32).describe('The requests this rule matches; any request when absent.'),
    ).optional(),
  })
  .describe('An access rule.');

const access = z
  .object({
    defaultAction: z
      .enum(['Deny', 'Allow'])
      .default('Deny')
      .describe(
        'What happens to a request no rule matches: `Deny` (only the allowed callers get through) or `Allow`.',
      ),
    enforcement: z
      .enum(['Enforce', 'Audit'])
      .default('Enforce')
      .describe(
        '`Enforce` applies the rules; `Audit` only reports what they would do (no NetworkPolicy, shadow rules in the proxies).',
      ),
    rules: listMap(z.array(rule).max(64).describe('The access rules, matched by name when merged.'), [
      'name',
    ]).optional(),
    networkPolicy: z
      .object({
        mode: z
          .enum(['Generate', 'Disabled'])
          .default('Generate')
          .describe(
            '`Generate` projects the rules onto a Kubernetes NetworkPolicy (L3/L4); `Disabled` enforces them only in the proxies.',
          ),
      })
      .prefault({})
      .describe('The NetworkPolicy the operator derives from the rules.'),
  })
  .describe('Who may call the target Service.');

const backoff = withRules(
  z
    .object({
      baseInterval: duration('First wait between retries; later waits grow exponentially').default('25ms'),
      maxInterval: duration('Longest wait between retries').default('250ms'),
    })
    .describe('Exponential backoff with jitter between retries.'),
  [
    {
      rule: 'duration(self.baseInterval) <= duration(self.maxInterval)',
      message: 'baseInterval must not be longer than maxInterval',
      fieldPath: '.baseInterval',
      holds: (b) => parseDuration(b.baseInterval) <= parseDuration(b.maxInterval),
    },
  ],
);

const RETRY_ON = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

const retries = z
  .object({
    attempts: z.int().min(0).max(10).describe('Retries after the first attempt (0 disables retries).'),
    perTryTimeout: duration('Timeout of each attempt').optional(),
    retryOn: listSet(
      z
        .array(z.enum(RETRY_ON).describe('An Envoy retry condition (HTTP) or gRPC status name.'))
        .max(RETRY_ON.length)
        .describe('Failures that are retried (Envoy `retry_on` conditions and gRPC statuses).'),
    ).default(['connect-failure', 'refused-stream', 'unavailable', 'cancelled']),
    backoff: backoff.prefault({}),
    budget: z
      .object({
        percent: percentage('Retries allowed on top of regular requests').default(20),
        minRetriesPerSecond: z
          .int()
          .min(0)
          .max(10000)
          .default(10)
          .describe('Retries always allowed per second, whatever the ratio.'),
      })
      .optional()
      .describe('A retry budget, as Linkerd has: caps retries so they cannot multiply load in an outage.'),
  })
  .describe('Retries of failed requests.');

const GRPC_STATUS = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

const abort = withRules(
  z
    .object({
      httpStatus: z
        .int()
        .min(200)
        .max(599)
        .optional()
        .describe('HTTP status returned instead of forwarding.'),
      grpcStatus: z.enum(GRPC_STATUS).optional().describe('gRPC status returned instead of forwarding.'),
      percentage: percentage('Share of requests aborted').default(100),
    })
    .describe('Abort requests with an error, for testing how callers cope.'),
  [
    {
      rule: 'has(self.httpStatus) != has(self.grpcStatus)',
      message: 'exactly one of httpStatus or grpcStatus must be set',
      holds: (a) => (a.httpStatus === undefined) !== (a.grpcStatus === undefined),
    },
  ],
);

const faultInjection = withRules(
  z
    .object({
      delay: z
        .object({
          fixedDelay: duration('Delay added before forwarding'),
          percentage: percentage('Share of requests delayed').default(100),
        })
        .optional()
        .describe('Delay requests, for testing timeouts.'),
      abort: abort.optional(),
    })
    .describe('Faults injected by the proxies in front of the target.'),
  [
    {
      rule: 'has(self.delay) || has(self.abort)',
      message: 'faultInjection must set delay, abort or both',
      holds: (f) => f.delay !== undefined || f.abort !== undefined,
    },
  ],
);

const outlierDetection = z
  .object({
    consecutive5xxErrors: z
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('5xx responses (or gRPC UNAVAILABLE) in a row that eject an endpoint.'),
    interval: duration('How often endpoints are evaluated').default('10s'),
    baseEjectionTime: duration('Minimum ejection; multiplied by the times an endpoint was ejected').default(
      '30s',
    ),
    maxEjectionPercent: percentage('Most endpoints that may be ejected at once').default(10),
  })
  .describe('Outlier detection: endpoints that keep failing are taken out of load balancing for a while.');

const positiveLimit = (what: string) => z.int().min(1).max(2147483647).optional().describe(what);

const circuitBreaker = z
  .object({
    maxConnections: positiveLimit('Most TCP connections to the target from one proxy.'),
    maxPendingRequests: positiveLimit('Most requests waiting for a connection.'),
    maxRequests: positiveLimit('Most requests in flight (HTTP/2 and gRPC).'),
    maxRetries: positiveLimit('Most retries in flight.'),
    outlierDetection: outlierDetection.optional(),
  })
  .describe('Connection limits and outlier detection.');

const rateLimit = z
  .object({
    requestsPerSecond: z.int().min(1).max(1_000_000).describe('Sustained requests per second allowed.'),
    burst: z
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe('Requests allowed at once above the sustained rate; `requestsPerSecond` when absent.'),
    scope: z
      .enum(['Overall', 'PerCaller'])
      .default('Overall')
      .describe(
        '`Overall` shares the limit among all callers of one proxy; `PerCaller` applies it to each caller identity.',
      ),
  })
  .describe('A local rate limit in each proxy of the target.');

const timeouts = z
  .object({
    request: duration('Timeout of a whole request, retries included').optional(),
    idle: duration('Closes connections idle this long').optional(),
    connect: duration('Timeout of opening a connection').optional(),
  })
  .describe('Timeouts.');

const resilience = withRules(
  z
    .object({
      timeouts: timeouts.optional(),
      retries: retries.optional(),
      circuitBreaker: circuitBreaker.optional(),
      faultInjection: faultInjection.optional(),
      rateLimit: rateLimit.optional(),
    })
    .describe(
      'How callers of the target Service behave: timeouts, retries, circuit breaking, fault injection, rate limits.',
    ),
  [
    {
      rule: '!has(self.retries) || !has(self.retries.perTryTimeout) || !has(self.timeouts) || !has(self.timeouts.request) || duration(self.retries.perTryTimeout) <= duration(self.timeouts.request)',
      message: 'retries.perTryTimeout must not be longer than timeouts.request',
      fieldPath: '.retries.perTryTimeout',
      holds: (r) => {
        const perTry = r.retries?.perTryTimeout;
        const request = r.timeouts?.request;
        return (
          perTry === undefined || request === undefined || parseDuration(perTry) <= parseDuration(request)
        );
      },
    },
  ],
);

export const servicePolicySpec = z
  .object({
    targetRef: z
      .object({
        kind: z.enum(['Service']).default('Service').describe('Kind of the target; only `Service`.'),
        name: dnsLabel('Name of the Service in the policy namespace'),
      })
      .describe('The Service this policy governs. One policy per Service: a second one is not accepted.'),
    access: access.optional(),
    resilience: resilience.optional(),
  })
  .describe('Access rules and resilience settings for one Service.');

const generatedResource = z
  .object({
    apiVersion: z.string().describe('API version of the generated object.'),
    kind: z.string().describe('Kind of the generated object.'),
    name: z.string().describe('Name of the generated object.'),
    namespace: z.string().optional().describe('Namespace of the generated object.'),
  })
  .describe('An object the operator generated from this policy.');

export const servicePolicyStatus = z
  .object({
    observedGeneration,
    conditions,
    generatedResources: listAtomic(
      z.array(generatedResource).max(16).describe('Objects generated from this policy (the NetworkPolicy).'),
    ).optional(),
  })
  .describe('What the operator made of the policy.');

export const ServicePolicy = defineKind({
  kind: 'ServicePolicy',
  plural: 'servicepolicies',
  singular: 'servicepolicy',
  shortNames: ['svcpol'],
  scope: 'Namespaced',
  description:
    'A ServicePolicy governs one Service: who may call it (enforced as a NetworkPolicy at L3/L4 and by the proxies at L7) and how callers retry, time out and break circuits.',
  printerColumns: [
    {
      name: 'Target',
      type: 'string',
      jsonPath: '.spec.targetRef.name',
      description: 'The governed Service.',
    },
    {
      name: 'Default',
      type: 'string',
      jsonPath: '.spec.access.defaultAction',
      description: 'Default action.',
    },
    {
      name: 'Enforcement',
      type: 'string',
      jsonPath: '.spec.access.enforcement',
      description: 'Enforce or Audit.',
    },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Whether the policy is in force.',
    },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
  spec: servicePolicySpec,
  status: servicePolicyStatus,
});

export type ServicePolicySpec = z.output<typeof servicePolicySpec>;
export type ServicePolicyStatus = z.output<typeof servicePolicyStatus>;
export type ServicePolicyResource = z.output<typeof ServicePolicy.resource>;
