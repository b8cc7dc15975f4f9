/**
 * Every name, label, annotation and port of a MeshInstallation's children, in one place. Nothing
 * else in the project spells a child name: the reconciler, the status computation, the finalizer
 * and the injector all come here, so a name cannot drift between the writer and the reader.
 *
 * Naming. A cluster may run several MeshInstallations, possibly sharing a control-plane namespace,
 * and cluster-scoped children (ClusterRole, webhook configuration, ClusterIssuer) as well as the CA
 * objects in cert-manager's namespace are shared by all of them. So every child name carries the
 * installation name: `meshwright-<installation>-<what>`. Names go through the runtime's
 * `childName`, which lower-cases, replaces characters a DNS-1123 label refuses (an installation
 * may be called `team.a`) and caps the result at 63 characters with a hash suffix. A label (not a
 * subdomain) everywhere, because a Service name must be one and the same base names the Deployment,
 * Service, ServiceAccount and PodDisruptionBudget.
 */
import { INJECTION_LABEL, type MeshInstallationResource } from '../api/meshinstallation.js';
import { childName, labelValue } from '../runtime/names.js';

// ------------------------------------------------------------------------------ the owner

/**
 * A MeshInstallation as the API server returns it, narrowed once at the boundary: name and uid are
 * present (a controller ownerReference needs both). Use `asNamed` to narrow.
 */
export type NamedMeshInstallation = MeshInstallationResource & {
  metadata: MeshInstallationResource['metadata'] & { name: string; uid: string };
};

/** Narrows a MeshInstallation read from the API server; throws on one that lacks name or uid (a bug). */
export function asNamed(mi: MeshInstallationResource): NamedMeshInstallation {
  const { name, uid } = mi.metadata;
  if (!name || !uid) throw new TypeError('a MeshInstallation read from the API server has a name and a uid');
  return mi as NamedMeshInstallation;
}

// ------------------------------------------------------------------------------ constants

/** The field manager and the value of `app.kubernetes.io/managed-by`. */
export const MANAGER = 'meshwright';
export const APP_NAME = 'meshwright';

/** Ports of the control plane (Istio's numbering: istiod serves xDS on 15010/15012, webhooks on 15017, metrics on 15014). */
export const PORTS = {
  /** xDS (ADS over gRPC) with mutual TLS: the serving certificate, clients by their workload certificate (Envoy sidecars). */
  xds: 15012,
  /**
   * xDS without TLS, for proxyless gRPC applications: `@grpc/grpc-js-xds` reaches its xDS server
   * only with `insecure` (or `google_default`) channel credentials.
   */
  xdsPlaintext: 15010,
  /** The sidecar-injection webhook (HTTPS). */
  webhook: 15017,
  /** Prometheus metrics (`/metrics`, plain HTTP). */
  metrics: 15014,
  /** Probes: `/healthz` (liveness) and `/readyz` (readiness); not exposed by the Service. */
  health: 15021,
} as const;

/** Container and Service port names (≤ 15 characters, IANA_SVC_NAME). */
export const PORT_NAMES = {
  xds: 'xds',
  xdsPlaintext: 'xds-plaintext',
  webhook: 'webhook',
  metrics: 'metrics',
  health: 'health',
} as const;

/** The path the API server calls the injector on. */
export const INJECT_PATH = '/inject';
/** The one webhook of the MutatingWebhookConfiguration (a webhook name must be fully qualified). */
export const INJECT_WEBHOOK_NAME = 'inject.meshwright.io';

/** cert-manager's cluster resource namespace, where a ClusterIssuer reads its Secret. */
export const DEFAULT_CERT_MANAGER_NAMESPACE = 'cert-manager';

/** Where the control plane finds its files. */
export const MESH_CONFIG_KEY = 'mesh.yaml';
export const MESH_CONFIG_DIR = '/etc/meshwright';
export const TLS_DIR = '/var/run/meshwright/tls';
export const TMP_DIR = '/tmp';

/** The control plane's user and group: the distroless `nonroot` user. */
export const NON_ROOT_UID = 65532;

/** The serving certificate's lifetime, and how long before expiry cert-manager renews it. */
export const SERVING_CERT_DURATION = '2160h';
export const SERVING_CERT_RENEW_BEFORE = '360h';

/** Namespaces the injection webhook never sees, whatever the selector says (see `webhookExcludedNamespaces`). */
export const SYSTEM_NAMESPACES = ['kube-node-lease', 'kube-public', 'kube-system'] as const;

// ------------------------------------------------------------------------------ labels and annotations

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  version: 'app.kubernetes.io/version',
  /** The owning MeshInstallation's name (as a label value: capped with a hash when longer than 63). */
  owner: 'meshwright.io/owner',
  /** Put on meshed pods by the injector: the mesh version of the proxy it injected. */
  proxyVersion: 'meshwright.io/proxy-version',
  /**
   * On a namespace: `enabled` makes it a member under the default `dataPlane.namespaceSelector`.
   * On a pod: `disabled` keeps it out of the mesh; the webhook's objectSelector skips it, so the API
   * server does not even call the injector.
   */
  inject: INJECTION_LABEL,
  /** Set by the API server on every namespace (≥ 1.21); the webhook excludes namespaces by it. */
  namespaceName: 'kubernetes.io/metadata.name',
} as const;

/** The value of the `meshwright.io/inject` pod label and annotation that opts a pod out. */
export const INJECT_DISABLED = 'disabled';

export const ANNOTATIONS = {
  /**
   * On a pod: `disabled` opts it out, honoured by the injector itself. A label is the preferred
   * opt-out (the objectSelector can only read labels, so an annotated pod still costs a webhook
   * call); the annotation is for pods whose labels the user cannot change (Helm charts, operators).
   */
  inject: INJECTION_LABEL,
  /** On the control-plane pod template: the SHA-256 of the mesh configuration, so a change rolls the pods. */
  configChecksum: 'meshwright.io/config-checksum',
  /** On a workload's pod template: set by `Automatic` migration to restart it (as `kubectl rollout restart` does). */
  restartedAt: 'meshwright.io/restartedAt',
  /** Beside `restartedAt`: the mesh version the restart was for, so one workload is restarted once per version. */
  restartedForVersion: 'meshwright.io/restartedForVersion',
  /** cert-manager's CA injector fills the webhook's `caBundle` from this `<namespace>/<certificate>`. */
  injectCaFrom: 'cert-manager.io/inject-ca-from',
} as const;

/** The finalizer the reconciler puts on a MeshInstallation to delete what ownerReferences cannot reach. */
export const FINALIZER = 'mesh.meshwright.io/cleanup';

export type Component =
  | 'control-plane'
  | 'mesh-config'
  | 'rbac'
  | 'injector'
  | 'certificate-authority'
  | 'serving-certificate'
  | 'namespace';

/** Label value of `meshwright.io/owner` for an installation (the name, or a capped form of it). */
export const ownerLabelValue = (mi: NamedMeshInstallation): string => labelValue(mi.metadata.name);

/** The labels every child carries; `selectOwned` selects them all, for pruning and the finalizer. */
export function ownerLabels(mi: NamedMeshInstallation): Record<string, string> {
  return { [LABELS.managedBy]: MANAGER, [LABELS.owner]: ownerLabelValue(mi) };
}

/** A label selector (query string form) for every child of `mi`. */
export const selectOwned = (mi: NamedMeshInstallation): string =>
  `${LABELS.managedBy}=${MANAGER},${LABELS.owner}=${ownerLabelValue(mi)}`;

/** The full label set of one child: owner labels, name, component and the mesh version. */
export function labels(mi: NamedMeshInstallation, component: Component): Record<string, string> {
  return {
    ...ownerLabels(mi),
    [LABELS.name]: APP_NAME,
    [LABELS.component]: component,
    [LABELS.version]: mi.spec.version,
  };
}

/**
 * The control plane's pod selector: stable across versions (a Deployment's selector is immutable,
 * so it must never contain the version).
 */
export function controlPlaneSelector(mi: NamedMeshInstallation): Record<string, string> {
  return {
    [LABELS.name]: APP_NAME,
    [LABELS.component]: 'control-plane',
    [LABELS.owner]: ownerLabelValue(mi),
  };
}

// ------------------------------------------------------------------------------ child names

const base = (mi: NamedMeshInstallation, ...what: string[]): string =>
  childName(APP_NAME, mi.metadata.name, ...what);

/** Deployment, Service, ServiceAccount and PodDisruptionBudget of the control plane (one name, four kinds). */
export const controlPlane = (mi: NamedMeshInstallation): string => base(mi, 'control-plane');
/** The ConfigMap holding `mesh.yaml`. */
export const meshConfig = (mi: NamedMeshInstallation): string => base(mi, 'mesh');
/** ClusterRole and ClusterRoleBinding of the control plane (cluster-scoped: unique per installation). */
export const clusterRole = (mi: NamedMeshInstallation): string => base(mi, 'control-plane');
export const clusterRoleBinding = clusterRole;
/** The MutatingWebhookConfiguration (cluster-scoped). */
export const injectorWebhook = (mi: NamedMeshInstallation): string => base(mi, 'injector');
/** The self-signed Issuer, in cert-manager's namespace, that signs the root CA. */
export const selfSignedIssuer = (mi: NamedMeshInstallation): string => base(mi, 'selfsigned');
/** The root CA Certificate, in cert-manager's namespace. */
export const rootCertificate = (mi: NamedMeshInstallation): string => base(mi, 'root-ca');
/** Its Secret: what the CA ClusterIssuer signs with. */
export const rootSecret = (mi: NamedMeshInstallation): string => base(mi, 'root-ca-tls');
/** The CA ClusterIssuer that signs the serving and the workload certificates. */
export const caIssuer = (mi: NamedMeshInstallation): string => base(mi, 'ca');
/** The control plane's serving Certificate (webhook and xDS TLS), in the control-plane namespace. */
export const servingCertificate = (mi: NamedMeshInstallation): string => base(mi, 'serving');
export const servingSecret = (mi: NamedMeshInstallation): string => base(mi, 'serving-tls');

/** The control plane's Service DNS names, short and fully qualified (`cluster.local` is the default cluster domain). */
export function controlPlaneDnsNames(mi: NamedMeshInstallation): string[] {
  const svc = controlPlane(mi);
  const ns = mi.spec.namespace;
  return [`${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
}

/** The xDS address Envoy sidecars dial (mutual TLS). */
export const xdsAddress = (mi: NamedMeshInstallation): string =>
  `${controlPlane(mi)}.${mi.spec.namespace}.svc:${PORTS.xds}`;

/** The xDS address proxyless gRPC applications dial (no TLS: see `PORTS.xdsPlaintext`). */
export const xdsPlaintextAddress = (mi: NamedMeshInstallation): string =>
  `${controlPlane(mi)}.${mi.spec.namespace}.svc:${PORTS.xdsPlaintext}`;

/** The SPIFFE identity of a service account in the mesh. */
export const spiffeId = (trustDomain: string, namespace: string, serviceAccount: string): string =>
  `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;

/**
 * Namespaces the injection webhook never mutates, sorted: the control plane's own (its pods would
 * wait for themselves), cert-manager's (the serving certificate needs it), the Kubernetes system
 * namespaces, and any the caller adds (the namespaces an older installation already owns, when
 * this one is `Conflicted`).
 */
export function webhookExcludedNamespaces(
  mi: NamedMeshInstallation,
  certManagerNamespace: string,
  extra: readonly string[] = [],
): string[] {
  return [...new Set([mi.spec.namespace, certManagerNamespace, ...SYSTEM_NAMESPACES, ...extra])].sort();
}
