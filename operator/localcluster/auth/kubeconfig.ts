/** A kubeconfig for the local cluster: one cluster, one user, one context, selected. */
import { stringify } from 'yaml';

export interface KubeconfigInput {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  /** The CA that signed the serving certificate; without it clients use their system roots. */
  caCertPem?: string;
  /** A bearer token; without it the user entry has no credentials. */
  token?: string;
  /** The name of the user entry (conventionally the username the token authenticates as). */
  user: string;
  /** Names the context and the cluster entry. Default `meshwright-local`. */
  contextName?: string;
}

export const DEFAULT_CONTEXT = 'meshwright-local';

/** Keys in the order `kubectl config view` prints them. */
export function kubeconfigYaml(a: KubeconfigInput): string {
  const server = new URL(a.server); // throws on a malformed URL rather than writing an unusable file
  if (server.protocol !== 'https:' && server.protocol !== 'http:') {
    throw new TypeError(`kubeconfig server must be an http(s) URL, got ${a.server}`);
  }
  if (a.user === '') throw new TypeError('kubeconfig user name must not be empty');
  const context = a.contextName ?? DEFAULT_CONTEXT;
  const cluster = {
    ...(a.caCertPem === undefined
      ? {}
      : { 'certificate-authority-data': Buffer.from(a.caCertPem, 'utf8').toString('base64') }),
    server: a.server,
  };
  const config = {
    apiVersion: 'v1',
    clusters: [{ cluster, name: context }],
    contexts: [{ context: { cluster: context, user: a.user }, name: context }],
    'current-context': context,
    kind: 'Config',
    preferences: {},
    users: [{ name: a.user, user: a.token === undefined ? {} : { token: a.token } }],
  };
  return stringify(config, { lineWidth: 0 });
}
