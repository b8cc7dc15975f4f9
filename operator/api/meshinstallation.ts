import { z } from 'zod';
import {
  conditions,
  dnsLabel,
  duration,
  imageReference,
  immutable,
  labelSelector,
  listMap,
  listSet,
  logLevel,
  observedGeneration,
  resourceRequirements,
  withRules,
} from './common.js';
import { parseDuration } from './duration.js';
import { defineKind } from './kind.js';
import { LATEST_MESH_VERSION, MESH_VERSION_NAMES } from './versions.js';

/** The namespace label that makes a namespace a mesh member unless `dataPlane.namespaceSelector` says otherwise. */
export const INJECTION_LABEL = 'meshwright.io/inject';

const controlPlane = z
  .object({
    replicas: z
      .int()
      .min(1)
      .max(10)
      .default(2)
      .describe(
        'Control-plane replicas. Every replica serves xDS and the injection webhook; 2 or more survive a node loss.',
      ),
    resources: resourceRequirements('each control-plane container').default({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '512Mi' },
    }),
    image: imageReference('Overrides the control-plane image that `version` selects').optional(),
    logLevel: logLevel.default('info'),
  })
  .describe('The control plane: the xDS server, the sidecar injector and the workload identity issuer.');

const proxy = z
  .object({
    image: imageReference('Overrides the Envoy image that `version` selects').optional(),
    resources: resourceRequirements('each injected proxy').default({
      requests: { cpu: '10m', memory: '40Mi' },
      limits: { memory: '256Mi' },
    }),
    logLevel: logLevel.default('warn'),
  })
  .describe('The proxy injected into member pods.');

const dataPlane = z
  .object({
    namespaceSelector: labelSelector(
      'Which namespaces are mesh members: their new pods get a proxy injected',
    ).default({ matchLabels: { [INJECTION_LABEL]: 'enabled' } }),
    mode: z
      .enum(['Sidecar', 'Proxyless'])
      .default('Sidecar')
      .describe(
        '`Sidecar` injects an Envoy proxy into each pod; `Proxyless` gives gRPC applications an xDS bootstrap and certificates instead.',
      ),
    defaultInboundPolicy: z
      .enum(['Deny', 'AllowAuthenticated', 'AllowAll'])
      .default('AllowAuthenticated')
      .describe(
        'What a meshed workload accepts when no ServicePolicy governs it: `Deny` nothing, `AllowAuthenticated` any mesh identity (mTLS), `AllowAll` anyone.',
      ),
    proxy: proxy.prefault({}),
  })
  .describe('The data plane: which pods are meshed and how.');

const issuerRef = z
  .object({
    name: z.string().min(1).max(253).describe('Name of the cert-manager issuer.'),
    kind: z
      .enum(['Issuer', 'ClusterIssuer'])
      .default('ClusterIssuer')
      .describe('`ClusterIssuer`, or `Issuer` in the control-plane namespace.'),
    group: z
      .string()
      .default('cert-manager.io')
      .describe('API group of the issuer (`cert-manager.io`, or an external issuer).'),
  })
  .describe('An existing cert-manager issuer that signs the mesh certificates.');

const issuer = withRules(
  z
    .object({
      bootstrap: z
        .object({
          caDuration: duration('Lifetime of the bootstrapped root CA certificate').default('87600h'),
        })
        .optional()
        .describe(
          'Let the operator bootstrap a private CA through cert-manager: self-signed issuer, root CA certificate, CA ClusterIssuer.',
        ),
      issuerRef: issuerRef.optional(),
    })
    .describe('Who signs the mesh certificates: a CA the operator bootstraps, or an issuer you already run.'),
  [
    {
      rule: 'has(self.bootstrap) != has(self.issuerRef)',
      message: 'exactly one of bootstrap or issuerRef must be set',
      holds: (i) => (i.bootstrap === undefined) !== (i.issuerRef === undefined),
    },
  ],
);

const workloadCertificate = withRules(
  z
    .object({
      duration: duration('Lifetime of each workload certificate (at least 1h)').default('24h'),
      renewBefore: duration('How long before expiry a workload certificate is renewed').default('8h'),
    })
    .describe('Workload certificates: one per service account, with its SPIFFE identity.'),
  [
    {
      rule: "duration(self.duration) >= duration('1h')",
      message: 'duration must be at least 1h (cert-manager refuses shorter certificates)',
      fieldPath: '.duration',
      holds: (c) => parseDuration(c.duration) >= 3_600_000,
    },
    {
      rule: 'duration(self.renewBefore) < duration(self.duration)',
      message: 'renewBefore must be shorter than duration',
      fieldPath: '.renewBefore',
      holds: (c) => parseDuration(c.renewBefore) < parseDuration(c.duration),
    },
  ],
);

const mtls = z
  .object({
    mode: z
      .enum(['Strict', 'Permissive'])
      .default('Strict')
      .describe(
        '`Strict` accepts only mTLS between meshed workloads; `Permissive` also accepts plain text, for migration.',
      ),
    trustDomain: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/)
      .default('cluster.local')
      .describe(
        'The SPIFFE trust domain: identities read `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`.',
      ),
    workloadCertificate: workloadCertificate.prefault({}),
    keyAlgorithm: z
      .enum(['ECDSAP256', 'ECDSAP384', 'RSA2048', 'RSA4096', 'Ed25519'])
      .default('ECDSAP256')
      .describe('Private-key algorithm and size of the mesh certificates.'),
    issuer: issuer.prefault({ bootstrap: {} }),
  })
  .describe('Mutual TLS between workloads and the mesh certificate authority.');

const updateStrategy = z
  .object({
    type: z
      .enum(['InPlace'])
      .default('InPlace')
      .describe('`InPlace` rolls the control plane to the new version in place.'),
    workloadMigration: z
      .enum(['Manual', 'Automatic'])
      .default('Manual')
      .describe(
        'After an upgrade, `Automatic` restarts workloads whose proxy is outdated, in batches; `Manual` only reports them in status.',
      ),
    batchSize: z
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Workloads restarted at once by `Automatic` migration.'),
    batchInterval: duration('Wait between two `Automatic` migration batches').default('30s'),
  })
  .describe('How a version change rolls out.');

const tracing = withRules(
  z
    .object({
      enabled: z.boolean().default(false).describe('Send spans to a Zipkin-compatible collector.'),
      collectorAddress: z
        .string()
        .regex(/^[a-zA-Z0-9.-]+:[0-9]{1,5}$/)
        .optional()
        .describe(
          'The collector as `host:port` (Zipkin v2 API), for example `jaeger-collector.tracing:9411`.',
        ),
      samplingPercentage: z
        .number()
        .min(0)
        .max(100)
        .default(1)
        .describe('Share of requests traced, from 0 to 100.'),
    })
    .describe('Distributed tracing from the proxies.'),
  [
    {
      rule: '!self.enabled || has(self.collectorAddress)',
      message: 'collectorAddress is required when tracing is enabled',
      fieldPath: '.collectorAddress',
      holds: (t) => !t.enabled || t.collectorAddress !== undefined,
    },
  ],
);

const observability = z
  .object({
    metrics: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('Proxies expose Prometheus metrics (the golden signals canary analysis reads).'),
        port: z
          .int()
          .min(1024)
          .max(65535)
          .default(15090)
          .describe('Port the proxies serve `/stats/prometheus` on.'),
        scrapeAnnotations: z
          .boolean()
          .default(true)
          .describe('Add `prometheus.io/scrape`, `/port` and `/path` annotations to meshed pods.'),
      })
      .prefault({})
      .describe('Proxy metrics.'),
    accessLogs: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Proxies write one access-log line per request to stdout.'),
        format: z.enum(['JSON', 'Text']).default('JSON').describe('Access-log format: `JSON` or `Text`.'),
      })
      .prefault({})
      .describe('Proxy access logs.'),
    tracing: tracing.prefault({}),
  })
  .describe('Metrics, access logs and tracing from the data plane.');

export const meshInstallationSpec = z
  .object({
    version: z
      .enum(MESH_VERSION_NAMES)
      .default(LATEST_MESH_VERSION)
      .describe(
        `Mesh version to install: one of ${MESH_VERSION_NAMES.join(', ')}. Changing it upgrades the mesh.`,
      ),
    namespace: immutable(
      dnsLabel(
        'Namespace of the control plane (created if absent); cannot be changed after creation',
      ).default('meshwright-system'),
      'namespace is immutable',
    ),
    controlPlane: controlPlane.prefault({}),
    dataPlane: dataPlane.prefault({}),
    mtls: mtls.prefault({}),
    updateStrategy: updateStrategy.prefault({}),
    observability: observability.prefault({}),
  })
  .describe('The desired mesh: version, control plane, data plane, mTLS and observability.');

const componentStatus = z
  .object({
    name: z.string().describe('Component name (`control-plane`).'),
    desiredReplicas: z.int().min(0).describe('Replicas the component should run.'),
    availableReplicas: z.int().min(0).describe('Replicas available now.'),
    version: z.string().optional().describe('Mesh version the available replicas run.'),
  })
  .describe('Availability of one component.');

export const meshInstallationStatus = z
  .object({
    observedGeneration,
    conditions,
    version: z
      .string()
      .optional()
      .describe('The mesh version running now (the previous one until an upgrade completes).'),
    components: listMap(
      z.array(componentStatus).max(16).describe('Each control-plane component and its replicas.'),
      ['name'],
    ).optional(),
    proxies: z
      .object({
        total: z.int().min(0).describe('Meshed pods in member namespaces.'),
        upToDate: z.int().min(0).describe('Meshed pods whose proxy runs the installed version.'),
        outdated: z.int().min(0).describe('Meshed pods whose proxy runs another version.'),
      })
      .optional()
      .describe('Proxy counts across member namespaces.'),
    memberNamespaces: listSet(
      z
        .array(z.string().describe('A namespace.'))
        .max(10000)
        .describe('Namespaces selected by `dataPlane.namespaceSelector`.'),
    ).optional(),
    caNotAfter: z.iso.datetime().optional().describe('When the mesh CA certificate expires.'),
  })
  .describe('What the operator observed of the mesh.');

export const MeshInstallation = defineKind({
  kind: 'MeshInstallation',
  plural: 'meshinstallations',
  singular: 'meshinstallation',
  shortNames: ['mi'],
  scope: 'Cluster',
  description:
    'A MeshInstallation declares a Meshwright service mesh: the control plane, the proxies injected into member namespaces, and the mesh CA through cert-manager.',
  printerColumns: [
    { name: 'Version', type: 'string', jsonPath: '.status.version', description: 'Installed mesh version.' },
    {
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
      description: 'Whether the mesh is ready.',
    },
    { name: 'Proxies', type: 'integer', jsonPath: '.status.proxies.total', description: 'Meshed pods.' },
    {
      name: 'Outdated',
      type: 'integer',
      jsonPath: '.status.proxies.outdated',
      description: 'Meshed pods with an outdated proxy.',
      priority: 1,
    },
    {
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
  spec: meshInstallationSpec,
  status: meshInstallationStatus,
});

export type MeshInstallationSpec = z.output<typeof meshInstallationSpec>;
export type MeshInstallationStatus = z.output<typeof meshInstallationStatus>;
export type MeshInstallationResource = z.output<typeof MeshInstallation.resource>;
