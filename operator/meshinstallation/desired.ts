/**
 * The desired children of a MeshInstallation: pure builders, `(mi, deps) => object`. No clock, no
 * randomness, no environment, no client: the same input gives deep-equal output, so applying it
 * twice changes nothing and restarts nothing. Every object is ready for server-side apply:
 * apiVersion, kind, name, namespace, labels and a controller ownerReference to the installation.
 *
 * Ownership and cleanup. A MeshInstallation is cluster-scoped, so it may own namespaced children in
 * any namespace (cert-manager's included) as well as cluster-scoped ones; the garbage collector
 * deletes all of them with it. Three things are out of its reach and need the finalizer
 * (`names.FINALIZER`) when the installation is deleted:
 *   - the root CA Secret (`names.rootSecret`, in cert-manager's namespace) and
 *   - the serving Secret (`names.servingSecret`, in the control-plane namespace):
 *     cert-manager creates both and, unless it runs with `--enable-certificate-owner-ref`, gives
 *     them no ownerReference, so they outlive their Certificates. Each Certificate's
 *     `secretTemplate` labels its Secret with `names.ownerLabels`, so the finalizer finds them with
 *     `names.selectOwned(mi)` and deletes them.
 *   - The control-plane Namespace is never deleted (see `namespace`).
 *
 * Apply order: `desiredChildren` lists the children in the order they should be applied (the
 * namespace first, the webhook configuration last: with `failurePolicy: Fail`, registering the
 * webhook before the control plane can answer would refuse pods in member namespaces longer).
 */
import { createHash } from 'node:crypto';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1Deployment,
  V1LabelSelector,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1PodDisruptionBudget,
  V1PolicyRule,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import {
  Certificate,
  type ICertificate,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import {
  ClusterIssuer,
  type IClusterIssuer,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import { Issuer, type IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import { stringify } from 'yaml';
import type { MeshInstallationSpec } from '../api/meshinstallation.js';
import { MESH_VERSIONS } from '../api/versions.js';
import { controllerRef, type OwnerReference } from '../runtime/ownership.js';
import * as names from './names.js';
import type { NamedMeshInstallation } from './names.js';

// ------------------------------------------------------------------------------ types

/** The metadata of a desired child: always named and labelled. */
export interface ChildMeta {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** What every builder returns: an object server-side apply accepts (assignable to client-node's `KubernetesObject`). */
export interface DesiredObject {
  apiVersion: string;
  kind: string;
  metadata: ChildMeta;
}

export type Desired<T> = T & DesiredObject;

export interface DesiredDeps {
  /**
   * Images replacing the version table (`operator/api/versions.ts`): the operator's image flags, for
   * development builds and mirrored registries. The spec's own overrides
   * (`controlPlane.image`, `dataPlane.proxy.image`) still win.
   */
  image?: { controlPlane: string; proxy: string };
  /** cert-manager's cluster resource namespace, where the CA ClusterIssuer reads its Secret (default `cert-manager`). */
  certManagerNamespace?: string;
  /**
   * Namespaces the injection webhook must leave alone on top of the usual ones: those an older
   * MeshInstallation already selects, when this one is `Conflicted` (see `status.conflictLoser`).
   */
  excludeNamespaces?: readonly string[];
}

// ------------------------------------------------------------------------------ helpers

const certManagerNamespace = (deps: DesiredDeps): string =>
  deps.certManagerNamespace ?? names.DEFAULT_CERT_MANAGER_NAMESPACE;

function meta(
  mi: NamedMeshInstallation,
  component: names.Component,
  name: string,
  namespace?: string,
): ChildMeta {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: names.labels(mi, component),
    ownerReferences: [controllerRef(mi)],
  };
}

/** The images this installation runs: spec override, then `deps.image`, then the version table. */
export function images(
  mi: NamedMeshInstallation,
  deps: DesiredDeps = {},
): { controlPlane: string; proxy: string } {
  const version = MESH_VERSIONS[mi.spec.version];
  return {
    controlPlane: mi.spec.controlPlane.image ?? deps.image?.controlPlane ?? version.controlPlaneImage,
    proxy: mi.spec.dataPlane.proxy.image ?? deps.image?.proxy ?? version.proxyImage,
  };
}

type Resources = MeshInstallationSpec['controlPlane']['resources'];

const quantities = (q: Record<string, string | number>): Record<string, string> =>
  Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));

/** A container's `resources`, with integer quantities written as strings (what the API server returns). */
export function resourceRequirements(r: Resources): {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
} {
  return {
    ...(r.requests !== undefined ? { requests: quantities(r.requests) } : {}),
    ...(r.limits !== undefined ? { limits: quantities(r.limits) } : {}),
  };
}

const optionalEnv = (name: string, value: string | undefined) =>
  value === undefined ? [] : [{ name, value }];

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A memory quantity in bytes (`512Mi`, `1G`, `268435456`, `1e9`); undefined for what it cannot read. */
export function quantityBytes(quantity: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity);
  if (!m) return undefined;
  return Number(m[1]) * QUANTITY_SUFFIX[m[2] ?? '']!;
}

/**
 * `NODE_OPTIONS` for a container with this memory limit: V8's old space at half the limit, the rest
 * for buffers, code and the young generation. Without it V8 sizes its heap from the node's memory,
 * not the container's, collects rarely and the pod is OOM-killed with mostly garbage in its heap.
 */
export function nodeHeapOptions(memoryLimit: string | number | undefined): string | undefined {
  const bytes = memoryLimit === undefined ? undefined : quantityBytes(String(memoryLimit));
  if (bytes === undefined) return undefined;
  return `--max-old-space-size=${Math.max(64, Math.floor(bytes / 2 ** 21))}`;
}

/** cert-manager's `privateKey` for the spec's `keyAlgorithm` (Ed25519 has no size). */
export function privateKey(algorithm: MeshInstallationSpec['mtls']['keyAlgorithm']): {
  algorithm: 'RSA' | 'ECDSA' | 'Ed25519';
  size?: number;
  rotationPolicy: 'Always';
} {
  switch (algorithm) {
    case 'ECDSAP256':
      return { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' };
    case 'ECDSAP384':
      return { algorithm: 'ECDSA', size: 384, rotationPolicy: 'Always' };
    case 'RSA2048':
      return { algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' };
    case 'RSA4096':
      return { algorithm: 'RSA', size: 4096, rotationPolicy: 'Always' };
    case 'Ed25519':
      return { algorithm: 'Ed25519', rotationPolicy: 'Always' };
  }
}

/** The issuer that signs the serving certificate and the workload certificates. */
export function meshIssuerRef(mi: NamedMeshInstallation): { name: string; kind: string; group: string } {
  const ref = mi.spec.mtls.issuer.issuerRef;
  if (ref) return { name: ref.name, kind: ref.kind, group: ref.group };
  return { name: names.caIssuer(mi), kind: 'ClusterIssuer', group: 'cert-manager.io' };
}

/** True when the operator bootstraps the CA (no `issuerRef`). */
export const bootstrapsCA = (mi: NamedMeshInstallation): boolean =>
  mi.spec.mtls.issuer.issuerRef === undefined;

/**
 * A child the reconciler must create only when absent and never update or delete: one built without
 * a controller ownerReference (today only the Namespace).
 */
export const isCreateOnly = (obj: DesiredObject): boolean =>
  !(obj.metadata.ownerReferences ?? []).some((r) => r.controller === true);

/** Builds a cert-manager object with its model class, validates it against the CRD schema, returns plain JSON. */
function validated<T>(model: { validate(): void; toJSON(): unknown }): T {
  model.validate();
  return model.toJSON() as T;
}

// ------------------------------------------------------------------------------ namespace and RBAC

/**
 * The control-plane namespace, created if absent. It carries no ownerReference on purpose, which
 * makes it create-only (`isCreateOnly`): a namespace that already exists (the user's, or one shared
 * by two installations) must not be taken over, relabelled or garbage-collected, and deleting a
 * MeshInstallation never deletes a namespace and whatever else lives in it (Istio's operator does
 * the same with `istio-system`). The labels say who created it; the owned children inside are
 * garbage-collected either way.
 */
export function namespace(mi: NamedMeshInstallation): Desired<V1Namespace> {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: mi.spec.namespace, labels: names.labels(mi, 'namespace') },
  };
}

export function serviceAccount(mi: NamedMeshInstallation): Desired<V1ServiceAccount> {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(mi, 'control-plane', names.controlPlane(mi), mi.spec.namespace),
  };
}

const READ: string[] = ['get', 'list', 'watch'];

/**
 * What the control plane may do, and nothing more. It is stateless (no leader election, so no
 * Leases), reads Secrets of no one (workload certificates are mounted into the pods that use them),
 * and writes only the workload Certificates it issues and its Events. `patch` on events is what an
 * event recorder needs to count a repeated event instead of creating a new one.
 */
export const CONTROL_PLANE_RULES: readonly V1PolicyRule[] = [
  // what the xDS configuration is built from; service accounts and pods for workload identities
  { apiGroups: [''], resources: ['namespaces', 'pods', 'serviceaccounts', 'services'], verbs: READ },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
  { apiGroups: ['mesh.meshwright.io'], resources: ['trafficsplits'], verbs: READ },
  // patch: the served-generation annotation the operator's Programmed condition waits for
  { apiGroups: ['mesh.meshwright.io'], resources: ['servicepolicies'], verbs: [...READ, 'patch'] },
  // one Certificate per ServiceAccount of meshed pods (server-side apply is a patch)
  {
    apiGroups: ['cert-manager.io'],
    resources: ['certificates'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  },
  // leader election of the replicas (only the leader writes; every replica serves)
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

export function clusterRole(mi: NamedMeshInstallation): Desired<V1ClusterRole> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(mi, 'rbac', names.clusterRole(mi)),
    rules: CONTROL_PLANE_RULES.map((r) => ({ ...r })),
  };
}

export function clusterRoleBinding(mi: NamedMeshInstallation): Desired<V1ClusterRoleBinding> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(mi, 'rbac', names.clusterRoleBinding(mi)),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: names.clusterRole(mi) },
    subjects: [{ kind: 'ServiceAccount', name: names.controlPlane(mi), namespace: mi.spec.namespace }],
  };
}

// ------------------------------------------------------------------------------ mesh configuration

/**
 * What the control plane reads (`mesh.yaml`): everything it serves to the proxies and needs to issue
 * workload identities. Keys are written in a fixed order, so the text (and its checksum) is stable.
 */
export function meshConfigData(mi: NamedMeshInstallation, deps: DesiredDeps = {}): Record<string, unknown> {
  const { spec } = mi;
  const { metrics, accessLogs, tracing } = spec.observability;
  return {
    installation: mi.metadata.name,
    meshVersion: spec.version,
    trustDomain: spec.mtls.trustDomain,
    controlPlane: {
      namespace: spec.namespace,
      service: names.controlPlane(mi),
      xdsAddress: names.xdsAddress(mi),
      xdsPlaintextAddress: names.xdsPlaintextAddress(mi),
      image: images(mi, deps).controlPlane,
      ports: { ...names.PORTS },
    },
    mtls: {
      mode: spec.mtls.mode,
      keyAlgorithm: spec.mtls.keyAlgorithm,
      workloadCertificate: {
        duration: spec.mtls.workloadCertificate.duration,
        renewBefore: spec.mtls.workloadCertificate.renewBefore,
      },
      issuerRef: meshIssuerRef(mi),
    },
    dataPlane: {
      mode: spec.dataPlane.mode,
      defaultInboundPolicy: spec.dataPlane.defaultInboundPolicy,
      namespaceSelector: spec.dataPlane.namespaceSelector,
      proxy: {
        image: images(mi, deps).proxy,
        logLevel: spec.dataPlane.proxy.logLevel,
        resources: resourceRequirements(spec.dataPlane.proxy.resources),
      },
    },
    observability: {
      metrics: { enabled: metrics.enabled, port: metrics.port, scrapeAnnotations: metrics.scrapeAnnotations },
      accessLogs: { enabled: accessLogs.enabled, format: accessLogs.format },
      tracing: {
        enabled: tracing.enabled,
        ...(tracing.collectorAddress !== undefined ? { collectorAddress: tracing.collectorAddress } : {}),
        samplingPercentage: tracing.samplingPercentage,
      },
    },
  };
}

/** The text of `mesh.yaml`. */
export const meshConfigText = (mi: NamedMeshInstallation, deps: DesiredDeps = {}): string =>
  stringify(meshConfigData(mi, deps));

/** SHA-256 (hex) of `mesh.yaml`: the pod-template annotation that rolls the control plane on a change. */
export const meshConfigChecksum = (mi: NamedMeshInstallation, deps: DesiredDeps = {}): string =>
  createHash('sha256').update(meshConfigText(mi, deps), 'utf8').digest('hex');

export function meshConfigMap(mi: NamedMeshInstallation, deps: DesiredDeps = {}): Desired<V1ConfigMap> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(mi, 'mesh-config', names.meshConfig(mi), mi.spec.namespace),
    data: { [names.MESH_CONFIG_KEY]: meshConfigText(mi, deps) },
  };
}

// ------------------------------------------------------------------------------ control plane

/**
 * The control plane. Rolling updates never take a replica away before its replacement is ready
 * (`maxUnavailable: 0`): the injection webhook fails closed, so the control plane must keep
 * answering during an upgrade. Spread over nodes and zones as a preference, not a requirement, so
 * a small cluster still schedules every replica.
 */
export function controlPlaneDeployment(
  mi: NamedMeshInstallation,
  deps: DesiredDeps = {},
): Desired<V1Deployment> {
  const { spec } = mi;
  const selector = names.controlPlaneSelector(mi);
  const podLabels = { ...selector, ...names.labels(mi, 'control-plane') };
  const scrape: Record<string, string> = spec.observability.metrics.scrapeAnnotations
    ? {
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(names.PORTS.metrics),
        'prometheus.io/path': '/metrics',
      }
    : {};
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(mi, 'control-plane', names.controlPlane(mi), spec.namespace),
    spec: {
      replicas: spec.controlPlane.replicas,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: podLabels,
          annotations: { [names.ANNOTATIONS.configChecksum]: meshConfigChecksum(mi, deps), ...scrape },
        },
        spec: {
          serviceAccountName: names.controlPlane(mi),
          automountServiceAccountToken: true,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: names.NON_ROOT_UID,
            runAsGroup: names.NON_ROOT_UID,
            fsGroup: names.NON_ROOT_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: selector },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              name: 'control-plane',
              image: images(mi, deps).controlPlane,
              imagePullPolicy: 'IfNotPresent',
              args: [
                'control-plane',
                `--config=${names.MESH_CONFIG_DIR}/${names.MESH_CONFIG_KEY}`,
                `--tls-dir=${names.TLS_DIR}`,
                `--log-level=${spec.controlPlane.logLevel}`,
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ...optionalEnv('NODE_OPTIONS', nodeHeapOptions(spec.controlPlane.resources.limits?.memory)),
              ],
              ports: [
                { name: names.PORT_NAMES.xds, containerPort: names.PORTS.xds, protocol: 'TCP' },
                {
                  name: names.PORT_NAMES.xdsPlaintext,
                  containerPort: names.PORTS.xdsPlaintext,
                  protocol: 'TCP',
                },
                { name: names.PORT_NAMES.webhook, containerPort: names.PORTS.webhook, protocol: 'TCP' },
                { name: names.PORT_NAMES.metrics, containerPort: names.PORTS.metrics, protocol: 'TCP' },
                { name: names.PORT_NAMES.health, containerPort: names.PORTS.health, protocol: 'TCP' },
              ],
              readinessProbe: {
                httpGet: { path: '/readyz', port: names.PORT_NAMES.health },
                periodSeconds: 5,
                failureThreshold: 3,
              },
              livenessProbe: {
                httpGet: { path: '/healthz', port: names.PORT_NAMES.health },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                failureThreshold: 3,
              },
              resources: resourceRequirements(spec.controlPlane.resources),
              securityContext: {
                runAsNonRoot: true,
                runAsUser: names.NON_ROOT_UID,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                privileged: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'mesh-config', mountPath: names.MESH_CONFIG_DIR, readOnly: true },
                { name: 'serving-tls', mountPath: names.TLS_DIR, readOnly: true },
                { name: 'tmp', mountPath: names.TMP_DIR },
              ],
            },
          ],
          volumes: [
            { name: 'mesh-config', configMap: { name: names.meshConfig(mi) } },
            { name: 'serving-tls', secret: { secretName: names.servingSecret(mi) } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

export function controlPlaneService(mi: NamedMeshInstallation): Desired<V1Service> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(mi, 'control-plane', names.controlPlane(mi), mi.spec.namespace),
    spec: {
      type: 'ClusterIP',
      selector: names.controlPlaneSelector(mi),
      ports: [
        {
          name: names.PORT_NAMES.xds,
          port: names.PORTS.xds,
          targetPort: names.PORT_NAMES.xds,
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
        {
          name: names.PORT_NAMES.xdsPlaintext,
          port: names.PORTS.xdsPlaintext,
          targetPort: names.PORT_NAMES.xdsPlaintext,
          protocol: 'TCP',
          appProtocol: 'grpc',
        },
        {
          name: names.PORT_NAMES.webhook,
          port: names.PORTS.webhook,
          targetPort: names.PORT_NAMES.webhook,
          protocol: 'TCP',
          appProtocol: 'https',
        },
        {
          name: names.PORT_NAMES.metrics,
          port: names.PORTS.metrics,
          targetPort: names.PORT_NAMES.metrics,
          protocol: 'TCP',
          appProtocol: 'http',
        },
      ],
    },
  };
}

/**
 * A PodDisruptionBudget with `minAvailable: 1`, only when there are two replicas or more. With a
 * single replica a `minAvailable: 1` budget blocks every node drain forever, and any other budget
 * allows the eviction anyway, so there is none: `undefined`, and the reconciler deletes one left
 * from an earlier spec (it prunes owned children missing from `desiredChildren`).
 */
export function controlPlanePDB(mi: NamedMeshInstallation): Desired<V1PodDisruptionBudget> | undefined {
  if (mi.spec.controlPlane.replicas < 2) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(mi, 'control-plane', names.controlPlane(mi), mi.spec.namespace),
    spec: { minAvailable: 1, selector: { matchLabels: names.controlPlaneSelector(mi) } },
  };
}

// ------------------------------------------------------------------------------ injection webhook

/**
 * The namespaces the injector sees: the spec's `dataPlane.namespaceSelector`, minus the namespaces
 * the mesh depends on (`names.webhookExcludedNamespaces`), by the `kubernetes.io/metadata.name`
 * label the API server puts on every namespace.
 */
export function injectionNamespaceSelector(
  mi: NamedMeshInstallation,
  deps: DesiredDeps = {},
): V1LabelSelector {
  const selector = mi.spec.dataPlane.namespaceSelector;
  const excluded = names.webhookExcludedNamespaces(mi, certManagerNamespace(deps), deps.excludeNamespaces);
  return {
    ...(selector.matchLabels !== undefined ? { matchLabels: { ...selector.matchLabels } } : {}),
    matchExpressions: [
      ...(selector.matchExpressions ?? []).map((e) => ({
        key: e.key,
        operator: e.operator,
        ...(e.values !== undefined ? { values: [...e.values] } : {}),
      })),
      { key: names.LABELS.namespaceName, operator: 'NotIn', values: excluded },
    ],
  };
}

/**
 * The sidecar injector's registration.
 *
 * `failurePolicy: Fail`, deliberately. With `Ignore`, a pod created while the control plane is
 * unreachable starts without a proxy: silently outside the mesh, bypassing strict mTLS and every
 * ServicePolicy. Failing closed makes the outage visible (the ReplicaSet retries with backoff and
 * the pod appears once the injector answers) instead of turning it into a security hole. The blast
 * radius is bounded: only member namespaces are selected, and the namespaces the control plane
 * itself depends on are always excluded (its own, cert-manager's, kube-system, kube-public,
 * kube-node-lease), so the mesh cannot deadlock itself: the control plane and cert-manager can
 * always be (re)scheduled. The control plane runs two replicas by default, with a
 * PodDisruptionBudget and surge-only rolling updates, to keep the injector answering.
 *
 * Opting a pod out: the `meshwright.io/inject: disabled` label, matched here by the objectSelector
 * (the API server does not call the injector at all); the same annotation is honoured by the
 * injector, for pods whose labels cannot be changed.
 *
 * `caBundle` is left out: cert-manager's CA injector fills it from the serving certificate named in
 * `cert-manager.io/inject-ca-from`. Server-side apply leaves it alone, since the operator's field
 * manager never sets it.
 */
export function injectorWebhook(
  mi: NamedMeshInstallation,
  deps: DesiredDeps = {},
): Desired<V1MutatingWebhookConfiguration> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      ...meta(mi, 'injector', names.injectorWebhook(mi)),
      annotations: {
        [names.ANNOTATIONS.injectCaFrom]: `${mi.spec.namespace}/${names.servingCertificate(mi)}`,
      },
    },
    webhooks: [
      {
        name: names.INJECT_WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        matchPolicy: 'Equivalent',
        reinvocationPolicy: 'IfNeeded',
        timeoutSeconds: 10,
        clientConfig: {
          service: {
            name: names.controlPlane(mi),
            namespace: mi.spec.namespace,
            path: names.INJECT_PATH,
            port: names.PORTS.webhook,
          },
        },
        rules: [
          {
            operations: ['CREATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: injectionNamespaceSelector(mi, deps),
        objectSelector: {
          matchExpressions: [
            { key: names.LABELS.inject, operator: 'NotIn', values: [names.INJECT_DISABLED] },
          ],
        },
      },
    ],
  };
}

// ------------------------------------------------------------------------------ cert-manager

export type DesiredCertificate = Desired<ICertificate>;
export type DesiredIssuer = Desired<IIssuer>;
export type DesiredClusterIssuer = Desired<IClusterIssuer>;

/** X.509 limits a common name to 64 characters, and cert-manager refuses a longer one. */
const MAX_COMMON_NAME = 64;

/** The root CA's common name: `<trustDomain> Meshwright root CA`, or without the trust domain when that is too long. */
export function rootCommonName(trustDomain: string): string {
  const full = `${trustDomain} Meshwright root CA`;
  return full.length <= MAX_COMMON_NAME ? full : 'Meshwright root CA';
}

/** The self-signed Issuer that signs the root CA, in cert-manager's namespace beside the root Secret. */
export function selfSignedIssuer(mi: NamedMeshInstallation, deps: DesiredDeps = {}): DesiredIssuer {
  return validated(
    new Issuer({
      metadata: meta(mi, 'certificate-authority', names.selfSignedIssuer(mi), certManagerNamespace(deps)),
      spec: { selfSigned: {} },
    }),
  );
}

/**
 * The mesh's root CA. It lives in cert-manager's namespace because a `ca` ClusterIssuer reads its
 * Secret from there. `rotationPolicy: Always` gives every renewal a new key; the SPIFFE URI of the
 * trust domain marks it as the trust domain's signing certificate.
 */
export function rootCertificate(mi: NamedMeshInstallation, deps: DesiredDeps = {}): DesiredCertificate {
  const { mtls } = mi.spec;
  return validated(
    new Certificate({
      metadata: meta(mi, 'certificate-authority', names.rootCertificate(mi), certManagerNamespace(deps)),
      spec: {
        isCA: true,
        commonName: rootCommonName(mtls.trustDomain),
        subject: { organizations: ['Meshwright'] },
        uris: [`spiffe://${mtls.trustDomain}`],
        duration: mtls.issuer.bootstrap?.caDuration ?? '87600h',
        privateKey: privateKey(mtls.keyAlgorithm),
        usages: ['cert sign', 'crl sign', 'digital signature'],
        secretName: names.rootSecret(mi),
        secretTemplate: { labels: names.labels(mi, 'certificate-authority') },
        issuerRef: { name: names.selfSignedIssuer(mi), kind: 'Issuer', group: 'cert-manager.io' },
      },
    }),
  );
}

/** The CA ClusterIssuer that signs with the root: the issuer of the serving and the workload certificates. */
export function caClusterIssuer(mi: NamedMeshInstallation): DesiredClusterIssuer {
  return validated(
    new ClusterIssuer({
      metadata: meta(mi, 'certificate-authority', names.caIssuer(mi)),
      spec: { ca: { secretName: names.rootSecret(mi) } },
    }),
  );
}

/**
 * The control plane's serving certificate: TLS of the injection webhook (the API server checks it
 * against the `caBundle` the CA injector copies from it) and of xDS (the proxies check it against
 * the mesh CA and the control plane's SPIFFE identity).
 */
export function servingCertificate(mi: NamedMeshInstallation): DesiredCertificate {
  const { spec } = mi;
  return validated(
    new Certificate({
      metadata: meta(mi, 'serving-certificate', names.servingCertificate(mi), spec.namespace),
      spec: {
        dnsNames: names.controlPlaneDnsNames(mi),
        uris: [names.spiffeId(spec.mtls.trustDomain, spec.namespace, names.controlPlane(mi))],
        duration: names.SERVING_CERT_DURATION,
        renewBefore: names.SERVING_CERT_RENEW_BEFORE,
        privateKey: privateKey(spec.mtls.keyAlgorithm),
        usages: ['server auth', 'digital signature'],
        secretName: names.servingSecret(mi),
        secretTemplate: { labels: names.labels(mi, 'serving-certificate') },
        issuerRef: meshIssuerRef(mi),
      },
    }),
  );
}

/** The cert-manager objects: the bootstrap chain (unless `issuerRef`) and the serving certificate. */
export function certManagerObjects(mi: NamedMeshInstallation, deps: DesiredDeps = {}): DesiredObject[] {
  const chain = bootstrapsCA(mi)
    ? [selfSignedIssuer(mi, deps), rootCertificate(mi, deps), caClusterIssuer(mi)]
    : [];
  return [...chain, servingCertificate(mi)];
}

// ------------------------------------------------------------------------------ all of it

/**
 * Every child of `mi`, in apply order. The Namespace is create-only (`isCreateOnly`); every other
 * child is owned and applied. The PodDisruptionBudget is absent with a single replica.
 */
export function desiredChildren(mi: NamedMeshInstallation, deps: DesiredDeps = {}): DesiredObject[] {
  const pdb = controlPlanePDB(mi);
  return [
    namespace(mi),
    serviceAccount(mi),
    clusterRole(mi),
    clusterRoleBinding(mi),
    meshConfigMap(mi, deps),
    ...certManagerObjects(mi, deps),
    controlPlaneService(mi),
    controlPlaneDeployment(mi, deps),
    ...(pdb ? [pdb] : []),
    injectorWebhook(mi, deps),
  ];
}
