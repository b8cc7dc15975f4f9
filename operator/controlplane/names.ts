/**
 * The names the control plane's three parts share: the injector writes them into pods, the identity
 * controller creates the Certificates they point at, and the ADS server recognises the proxies by
 * them. One place, so a writer and a reader cannot drift. (xDS resource names live in `xds/names.ts`.)
 */
import { INJECTION_LABEL } from '../api/meshinstallation.js';
import { INJECT_DISABLED, LABELS, spiffeId } from '../meshinstallation/names.js';
import { SERVICE_ACCOUNT_LABEL } from '../servicepolicy/names.js';
import { childName } from '../runtime/names.js';

/** Pod label the injector sets: the pod's ServiceAccount. NetworkPolicies select callers by it. */
export { SERVICE_ACCOUNT_LABEL };
/** Pod label the injector sets: the mesh version of the proxy (or bootstrap) it injected. */
export const PROXY_VERSION_LABEL = LABELS.proxyVersion;
/** Pod annotation the injector sets: what it injected (`Sidecar` or `Proxyless`); its presence makes injection a no-op. */
export const INJECTED_ANNOTATION = 'meshwright.io/injected';
/** Pod label or annotation `disabled` (`INJECT_DISABLED`): the pod stays out of the mesh. */
export const INJECT_KEY = INJECTION_LABEL;
export { INJECT_DISABLED };

/** The user id the Envoy sidecar runs as; the capture rules let its own traffic through (Istio's number). */
export const PROXY_UID = 1337;

/** Envoy sidecar ports (Istio's numbering, so habits and dashboards carry over). */
export const PROXY_PORTS = {
  /** Outbound capture: every connection the application opens is redirected here. */
  outbound: 15001,
  /** Inbound capture: every connection to the pod is redirected here. */
  inbound: 15006,
  /** Envoy admin, bound to 127.0.0.1 only. */
  admin: 15000,
  /** Proxy health (`/ready`) and Prometheus stats (`/stats/prometheus`). */
  health: 15021,
  metrics: 15090,
} as const;

/** Where a meshed pod finds its workload certificate (`tls.crt`, `tls.key`, `ca.crt`). */
export const IDENTITY_DIR = '/var/run/meshwright/identity';
export const IDENTITY_VOLUME = 'meshwright-identity';

/** The Certificate (and its Secret) holding the identity of a ServiceAccount, in the ServiceAccount's namespace. */
export const identityCertificateName = (serviceAccount: string): string =>
  childName('meshwright-identity', serviceAccount);

/** The SPIFFE ID of a workload: `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`. */
export { spiffeId };

/** Parses a SPIFFE workload ID; undefined for anything else. */
export function parseSpiffeId(
  uri: string,
): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : undefined;
}

/**
 * The node id a proxy announces in its bootstrap: `<pod>.<namespace>`. Node metadata carries the
 * rest (`NAMESPACE`, `SERVICE_ACCOUNT`, `POD_IP`, `PROXY_TYPE`: `envoy` or `grpc`).
 */
export const nodeId = (pod: string, namespace: string): string => `${pod}.${namespace}`;
export const NODE_METADATA = {
  namespace: 'NAMESPACE',
  serviceAccount: 'SERVICE_ACCOUNT',
  podIp: 'POD_IP',
  proxyType: 'PROXY_TYPE',
} as const;
