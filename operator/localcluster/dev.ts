/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * `meshwright dev` / `npm start`: the local cluster over HTTPS with the project's CRDs (and, when
 * `../shared/crds` exists beside the checkout, the published cert-manager and Gateway API CRDs),
 * the samples of config/samples applied, until Ctrl-C or SIGTERM.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ApiError } from './errors.js';
import { startLocalCluster, type LocalCluster } from './index.js';
import type { Registry } from './registry.js';
import type { Obj } from './store.js';

export interface DevOptions {
  /** The repository root (crds/, config/samples/). */
  root: string;
  /** Preferred port (default 6443; a random one when busy). */
  port?: number;
  tls?: boolean;
  /** Stops the cluster when aborted (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

async function yamlFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(p)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(p);
  }
  return out;
}

async function documents(file: string): Promise<Obj[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((d) => d.toJSON() as Obj | null)
    .filter((d): d is Obj => d !== null && typeof d === 'object');
}

/** Creates `obj` (or replaces it when it exists), as `kubectl apply` would for a fresh cluster. */
export async function applyObject(registry: Registry, obj: Obj): Promise<string> {
  const [group, version] = String(obj.apiVersion).includes('/')
    ? String(obj.apiVersion).split('/')
    : ['', obj.apiVersion];
  const t = registry
    .allTypes()
    .find((x) => x.group === group && x.version === version && x.kind === obj.kind);
  if (!t) throw new Error(`no resource serves ${obj.apiVersion} ${obj.kind}`);
  const ns = t.namespaced ? (obj.metadata?.namespace ?? 'default') : '';
  const ctx = {
    user: { username: 'meshwright-dev', groups: ['system:masters'] },
    fieldManager: 'meshwright-dev',
  };
  if (t.namespaced && !registry.store.get('/namespaces', '', ns)) {
    await registry.create(registry.resolve('', 'v1', 'namespaces')!, '', { metadata: { name: ns } }, ctx);
  }
  try {
    await registry.create(t, ns, obj, ctx);
    return `${t.plural}/${obj.metadata.name} created`;
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    const live = registry.get(t, ns, obj.metadata.name);
    await registry.update(
      t,
      ns,
      obj.metadata.name,
      { ...obj, metadata: { ...obj.metadata, resourceVersion: live.metadata.resourceVersion } },
      ctx,
    );
    return `${t.plural}/${obj.metadata.name} configured`;
  }
}

export interface DevCluster {
  cluster: LocalCluster;
  /** Settles once a signal (or `options.signal`) has stopped the cluster. */
  stopped: Promise<void>;
}

export async function runDev(options: DevOptions): Promise<DevCluster> {
  const log = options.log ?? ((l: string) => console.log(l));
  const cluster = await startLocalCluster({
    tls: options.tls ?? true,
    port: options.port ?? 6443,
    fallbackToRandomPort: true,
  });
  const registry = cluster.registry;
  const crdFiles = [
    ...(await yamlFiles(join(options.root, 'crds'))),
    ...(await yamlFiles(join(options.root, '..', 'shared', 'crds'))),
  ];
  for (const file of crdFiles) {
    for (const doc of await documents(file)) {
      try {
        await applyObject(registry, doc);
      } catch (e) {
        log(`warning: ${file}: ${(e as Error).message}`);
      }
    }
  }
  await cluster.settle();
  for (const file of await yamlFiles(join(options.root, 'config', 'samples'))) {
    for (const doc of await documents(file)) {
      try {
        log(`  ${await applyObject(registry, doc)}`);
      } catch (e) {
        log(`warning: ${file}: ${(e as Error).message}`);
      }
    }
  }
  log(`
Local Kubernetes API server: ${cluster.url}
kubeconfig: ${cluster.kubeconfigPath}

  kubectl --kubeconfig ${cluster.kubeconfigPath} get meshwright -A

Ctrl-C stops it.`);
  let signalled: () => void = () => undefined;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  if (options.signal) options.signal.addEventListener('abort', signalled, { once: true });
  else {
    process.once('SIGINT', signalled);
    process.once('SIGTERM', signalled);
  }
  const stopped = signal.then(async () => {
    process.off('SIGINT', signalled);
    process.off('SIGTERM', signalled);
    log('Stopping the local cluster.');
    await cluster.stop();
  });
  return { cluster, stopped };
}
