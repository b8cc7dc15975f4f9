/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * `meshwright dev` / `npm start`: the local cluster over HTTPS with the project's CRDs (and, when
 * `../shared/crds` exists beside the checkout, the published cert-manager and Gateway API CRDs;
 * without them, the minimal cert-manager CRDs of `test/fixtures/crds`), the samples of
 * config/samples applied, until Ctrl-C or SIGTERM.
 *
 * For the operator `meshwright dev` runs in-process against it, two helpers:
 *   - `simulateClusterControllers`: the local cluster runs no controller-manager, no cert-manager
 *     and no CA injector, so nothing would ever make the control plane available or issue a
 *     certificate. This loop plays them, and says so on every line ("simulated: local cluster
 *     only"). It is never part of the operator: `meshwright operator` assumes none of it.
 *   - `printConditionTransitions`: one line per MeshInstallation condition that changes.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseDuration } from '../api/duration.js';
import type { Kube, KubeObject, ResourceType } from '../runtime/client.js';
import { Informer } from '../runtime/informer.js';
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
  /** Create cert-manager's namespace (default `cert-manager`; `false`: do not). */
  certManagerNamespace?: string | false;
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
  const shared = await yamlFiles(join(options.root, '..', 'shared', 'crds'));
  const crdFiles = [
    ...(await yamlFiles(join(options.root, 'crds'))),
    ...shared,
    // the published cert-manager CRDs when they are beside the checkout, else the project's minimal ones
    ...(shared.some((f) => f.includes('cert-manager'))
      ? []
      : [join(options.root, 'test', 'fixtures', 'crds', 'cert-manager.yaml')]),
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
  if (options.certManagerNamespace !== false) {
    // cert-manager's namespace, as an installed cert-manager would have it (the root CA lives there)
    const name = options.certManagerNamespace ?? 'cert-manager';
    if (!registry.store.get('/namespaces', '', name))
      await applyObject(registry, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  // kustomization.yaml in config/samples is for `kubectl apply -k`, not a resource to apply.
  const samples = (await yamlFiles(join(options.root, 'config', 'samples'))).filter(
    (file) => !/(^|\/)kustomization\.ya?ml$/.test(file),
  );
  for (const file of samples) {
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

// ---------------------------------------------------------------------------------------------
// For the operator `meshwright dev` runs against the local cluster

const SIMULATED = 'simulated: local cluster only';
const MANAGED = 'app.kubernetes.io/managed-by=meshwright';

const Deployments: ResourceType = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
};
const Certificates: ResourceType = {
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  plural: 'certificates',
  namespaced: true,
};
const Webhooks: ResourceType = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  plural: 'mutatingwebhookconfigurations',
  namespaced: false,
};
const MeshInstallations: ResourceType = {
  apiVersion: 'mesh.meshwright.io/v1alpha1',
  kind: 'MeshInstallation',
  plural: 'meshinstallations',
  namespaced: false,
};

const shortRef = (o: KubeObject): string =>
  `${o.kind ?? ''} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`;

export interface DevLoopOptions {
  kube: Kube;
  log: (line: string) => void;
  /** The loop stops when it aborts. */
  signal: AbortSignal;
  /** The clock for fake certificate dates (default: now). */
  now?: () => Date;
}

/**
 * Plays, for the objects the operator manages, what a real cluster's controllers do: the
 * Deployment controller (every replica updated and available), cert-manager (each Certificate
 * `Ready`, with a fake `notAfter` from its `duration`) and cert-manager's CA injector (a fake
 * `caBundle` on webhook configurations annotated `cert-manager.io/inject-ca-from`). Local cluster
 * only; every action is logged as simulated.
 */
export function simulateClusterControllers(o: DevLoopOptions): Promise<void> {
  const now = o.now ?? (() => new Date());
  const informers = [
    new Informer(o.kube, Deployments, { labelSelector: MANAGED }),
    new Informer(o.kube, Certificates, { labelSelector: MANAGED }),
    new Informer(o.kube, Webhooks, { labelSelector: MANAGED }),
  ];
  const busy = new Set<string>();
  const act = (key: string, what: () => Promise<string | undefined>): void => {
    if (busy.has(key) || o.signal.aborted) return;
    busy.add(key);
    void what()
      .then((line) => line && o.log(`  [${SIMULATED}] ${line}`))
      .catch((e: unknown) => o.log(`  [${SIMULATED}] ${key}: ${(e as Error).message}`))
      .finally(() => busy.delete(key));
  };
  const [deployments, certificates, webhooks] = informers as [Informer, Informer, Informer];
  deployments.onEvent(({ type, object: d }) => {
    if (type === 'delete') return;
    const spec = d.spec as { replicas?: number } | undefined;
    const status = (d.status ?? {}) as Record<string, number | undefined>;
    const replicas = spec?.replicas ?? 1;
    const generation = d.metadata?.generation ?? 0;
    if (
      (status.observedGeneration ?? 0) >= generation &&
      status.updatedReplicas === replicas &&
      status.availableReplicas === replicas &&
      status.replicas === replicas
    )
      return;
    act(`deployment ${shortRef(d)}`, async () => {
      await o.kube.patchStatus(
        { ...Deployments, name: d.metadata!.name!, namespace: d.metadata!.namespace! },
        {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
        },
        { resourceVersion: undefined },
      );
      return `${shortRef(d)}: ${replicas}/${replicas} replicas available`;
    });
  });
  certificates.onEvent(({ type, object: c }) => {
    if (type === 'delete') return;
    const conditions =
      (c.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
    if (conditions.some((x) => x.type === 'Ready' && x.status === 'True')) return;
    act(`certificate ${shortRef(c)}`, async () => {
      const spec = (c.spec ?? {}) as { duration?: string };
      let lifetime = 90 * 24 * 3_600_000;
      try {
        if (spec.duration) lifetime = parseDuration(spec.duration);
      } catch {
        /* keep the default */
      }
      const notBefore = now();
      const notAfter = new Date(notBefore.getTime() + lifetime);
      const iso = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
      await o.kube.patchStatus(
        { ...Certificates, name: c.metadata!.name!, namespace: c.metadata!.namespace! },
        {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Ready',
              message: `Certificate is up to date and has not expired (${SIMULATED})`,
              lastTransitionTime: iso(notBefore),
            },
          ],
          notBefore: iso(notBefore),
          notAfter: iso(notAfter),
          revision: 1,
        },
        { resourceVersion: undefined },
      );
      return `${shortRef(c)}: issued (Ready, fake notAfter ${iso(notAfter)})`;
    });
  });
  webhooks.onEvent(({ type, object: w }) => {
    if (type === 'delete' || !w.metadata?.annotations?.['cert-manager.io/inject-ca-from']) return;
    const hooks = (w as { webhooks?: { clientConfig?: { caBundle?: string } }[] }).webhooks ?? [];
    if (hooks.every((h) => h.clientConfig?.caBundle)) return;
    act(`webhook ${shortRef(w)}`, async () => {
      const caBundle = Buffer.from(
        `-----BEGIN CERTIFICATE-----\n${SIMULATED}\n-----END CERTIFICATE-----\n`,
      ).toString('base64');
      await o.kube.mergePatch(
        { apiVersion: Webhooks.apiVersion, kind: Webhooks.kind, name: w.metadata!.name! },
        { webhooks: hooks.map((h) => ({ ...h, clientConfig: { ...(h.clientConfig ?? {}), caBundle } })) },
      );
      return `${shortRef(w)}: caBundle injected`;
    });
  });
  for (const i of informers) i.start();
  return new Promise<void>((resolve) => {
    const stop = (): void => void Promise.all(informers.map((i) => i.stop())).then(() => resolve());
    if (o.signal.aborted) stop();
    else o.signal.addEventListener('abort', stop, { once: true });
  });
}

interface MeshCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** One line per condition change of a MeshInstallation: `mi/default  Ready  False → True  Ready: mesh 1.1.0 is ready`. */
export function conditionTransitions(
  name: string,
  before: readonly MeshCondition[],
  after: readonly MeshCondition[],
): string[] {
  const prev = new Map(before.map((c) => [c.type, c]));
  return after
    .filter((c) => {
      const p = prev.get(c.type);
      return !p || p.status !== c.status || p.reason !== c.reason;
    })
    .map((c) => {
      const from = prev.get(c.type)?.status ?? '-';
      return `mi/${name}  ${c.type.padEnd(18)} ${from.padEnd(5)} → ${c.status.padEnd(5)}  ${c.reason ?? ''}: ${c.message ?? ''}`;
    });
}

/** Prints MeshInstallation condition transitions as they happen, until `signal` aborts. */
export function printConditionTransitions(o: DevLoopOptions): Promise<void> {
  const informer = new Informer(o.kube, MeshInstallations);
  const conditionsOf = (x: KubeObject | undefined): MeshCondition[] =>
    (x?.status as { conditions?: MeshCondition[] } | undefined)?.conditions ?? [];
  informer.onEvent(({ type, object, old }) => {
    const name = object.metadata?.name ?? '';
    if (type === 'delete') return o.log(`mi/${name}  deleted`);
    for (const line of conditionTransitions(
      name,
      type === 'add' ? [] : conditionsOf(old),
      conditionsOf(object),
    ))
      o.log(line);
  });
  informer.start();
  return new Promise<void>((resolve) => {
    const stop = (): void => void informer.stop().then(() => resolve());
    if (o.signal.aborted) stop();
    else o.signal.addEventListener('abort', stop, { once: true });
  });
}
