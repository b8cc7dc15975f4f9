/**
 * Shared pieces of the runtime's integration tests: a harness (local cluster or
 * MESHWRIGHT_TEST_KUBECONFIG), a `Kube` for it, resource types, and bounded polling.
 */
import { connect, REAL, type Harness } from '../localcluster/harness.js';
import type { LocalClusterOptions } from '../../operator/localcluster/index.js';
import {
  createKube,
  type CreateKubeOptions,
  type Kube,
  type KubeObject,
  type ResourceType,
} from '../../operator/runtime/client.js';
import type { Informer } from '../../operator/runtime/informer.js';

export { REAL };

export const ConfigMaps: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
export const Secrets: ResourceType = {
  apiVersion: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
};
export const Namespaces: ResourceType = {
  apiVersion: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
};

export interface Env {
  h: Harness;
  kubeconfigPath: string;
  kube(o?: Omit<CreateKubeOptions, 'kubeconfigPath' | 'kubeConfig'>): Kube;
}

export async function setup(options: LocalClusterOptions = {}): Promise<Env> {
  const h = await connect(options);
  const kubeconfigPath = h.local ? h.local.kubeconfigPath : process.env.MESHWRIGHT_TEST_KUBECONFIG!;
  return { h, kubeconfigPath, kube: (o = {}) => createKube({ kubeconfigPath, ...o }) };
}

/** Polls `fn` (every 10 ms) until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** name → resourceVersion of the ConfigMaps in `namespace`, as the server lists them. */
export async function serverVersions(kube: Kube, namespace: string): Promise<Map<string, string>> {
  const list = await kube.list(ConfigMaps, { namespace });
  return new Map(list.items.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

/** name → resourceVersion of the ConfigMaps in `namespace`, as the informer caches them. */
export function cachedVersions(inf: Informer, namespace: string): Map<string, string> {
  return new Map(inf.list({ namespace }).map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));
}

export const sameMap = (a: Map<string, string>, b: Map<string, string>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

export const configMap = (
  namespace: string,
  name: string,
  data: Record<string, string> = { a: '1' },
  labels?: Record<string, string>,
): KubeObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  data,
});
