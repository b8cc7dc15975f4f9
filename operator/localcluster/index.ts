/**
 * The local cluster: an in-memory Kubernetes API server for `npm start` and the integration suites.
 *
 *   const cluster = await startLocalCluster();          // plain HTTP on 127.0.0.1, random port
 *   const cluster = await startLocalCluster({ tls: true }); // HTTPS + bearer tokens + RBAC
 *   cluster.url, cluster.kubeconfigPath, cluster.faults, await cluster.stop()
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Hooks, UserInfo } from './hooks.js';
import * as auth from './auth/index.js';
import { defaultHooks } from './modules.js';
import { Registry } from './registry.js';
import {
  ApiHandler,
  type AuthProvider,
  type FaultSpec,
  type RequestAttributes,
  type RequestRecord,
} from './server.js';
import { Store, type Obj } from './store.js';

export type { FaultSpec, RequestRecord } from './server.js';
export type { Registry } from './registry.js';

export interface LocalClusterOptions {
  /** HTTPS with a generated CA, bearer tokens and RBAC (needs ./auth). Default false. */
  tls?: boolean;
  /** Port to listen on (0: random). With `fallbackToRandomPort`, a busy port falls back to a random one. */
  port?: number;
  fallbackToRandomPort?: boolean;
  host?: string;
  /** Where the kubeconfig files go (default: a new temp dir). */
  dir?: string;
  /** Watch history retained for resumption (events). Default 10000. */
  historyWindow?: number;
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. Default 5000 ms. */
  bookmarkIntervalMs?: number;
  /** Replace some of the plugged-in modules (for tests of the local cluster itself). */
  hooks?: Partial<Hooks>;
}

export interface Faults {
  /** Answer the next `count` matching requests with `spec` (status, hang, delay). */
  failNext(count: number, spec: FaultSpec): void;
  /** Delay the next `count` matching requests by `ms`, then serve them. */
  delayNext(count: number, ms: number, match?: Omit<FaultSpec, 'status' | 'hang' | 'delayMs'>): void;
  /** Close every open watch connection; returns how many were open. */
  dropWatches(options?: { abrupt?: boolean }): number;
  /**
   * Close the listener and every connection, then listen again on the same port. `keepState: false`
   * starts from an empty cluster; `keepHistory: false` forgets the watch history (older
   * resourceVersions then get 410 Gone). Both default to keeping.
   */
  restart(options?: { keepState?: boolean; keepHistory?: boolean; downtimeMs?: number }): Promise<void>;
  /** Remove pending faults and release hanging requests. */
  clear(): void;
  /** Every request served, oldest first. */
  readonly requests: RequestRecord[];
  /** Requests matching `filter` (e.g. `{ verb: 'patch', resource: 'configmaps' }`). */
  count(
    filter?: Partial<
      Pick<RequestRecord, 'method' | 'verb' | 'resource' | 'subresource' | 'namespace' | 'name' | 'user'>
    >,
  ): number;
  /** Forget the request log. */
  resetLog(): void;
}

export interface LocalCluster {
  url: string;
  port: number;
  kubeconfigPath: string;
  /** The CA certificate (PEM) when TLS is on. */
  caCertPem?: string;
  /** The admin's bearer token when TLS is on. */
  token?: string;
  faults: Faults;
  /** The in-process API (for tests that inspect the store directly). */
  readonly registry: Registry;
  /** Mint a token for a user or service account and write a kubeconfig for it; returns its path. */
  kubeconfigFor(who: {
    user?: string;
    groups?: string[];
    serviceAccount?: { namespace: string; name: string };
  }): Promise<string>;
  /** Resolves when the background controllers (GC, namespaces, CRDs) are idle. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const BOOTSTRAP_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function bootstrap(registry: Registry): Promise<void> {
  const ns = registry.resolve('', 'v1', 'namespaces')!;
  for (const name of BOOTSTRAP_NAMESPACES) await registry.bootstrap(ns, { metadata: { name } });
  await registry.bootstrap(registry.resolve('', 'v1', 'services')!, {
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      clusterIP: '10.96.0.1',
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
    },
  });
  const rbac = (plural: string) => registry.resolve('rbac.authorization.k8s.io', 'v1', plural)!;
  const label = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  await registry.bootstrap(rbac('clusterroles'), {
    metadata: { name: 'cluster-admin', labels: label },
    rules: [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ],
  });
  await registry.bootstrap(rbac('clusterrolebindings'), {
    metadata: { name: 'cluster-admin', labels: label },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }],
  });
  await registry.settle();
}

function kubeconfig(a: {
  server: string;
  caCertPem?: string;
  token?: string;
  user: string;
  contextName?: string;
}): string {
  const context = a.contextName ?? 'meshwright-local';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'meshwright-local',
        cluster: {
          server: a.server,
          ...(a.caCertPem
            ? { 'certificate-authority-data': Buffer.from(a.caCertPem).toString('base64') }
            : {}),
        },
      },
    ],
    users: [{ name: a.user, user: a.token ? { token: a.token } : {} }],
    contexts: [
      { name: context, context: { cluster: 'meshwright-local', user: a.user, namespace: 'default' } },
    ],
    'current-context': context,
    preferences: {},
  });
}

function rbacSource(registry: Registry): auth.RbacSource {
  const list = (key: string, ns?: string): Obj[] => registry.store.list(key, ns);
  return {
    roles: (ns) => list('rbac.authorization.k8s.io/roles', ns),
    roleBindings: (ns) => list('rbac.authorization.k8s.io/rolebindings', ns),
    clusterRoles: () => list('rbac.authorization.k8s.io/clusterroles'),
    clusterRoleBindings: () => list('rbac.authorization.k8s.io/clusterrolebindings'),
  };
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const hooks = { ...defaultHooks, ...(options.hooks ?? {}) };
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'meshwright-localcluster-')));
  await mkdir(dir, { recursive: true });
  let registry = new Registry(hooks, { historyWindow: options.historyWindow ?? 10_000 });
  await bootstrap(registry);

  const certs = options.tls ? await auth.generateCertificates(['127.0.0.1', 'localhost', '::1']) : undefined;
  const tokens = new auth.TokenAuthenticator();
  const authProvider: AuthProvider = {
    authenticate: (h) => tokens.authenticate(h),
    authorize: (user, attrs: RequestAttributes) => auth.authorize(user, attrs, rbacSource(handler.registry)),
    forbiddenStatus: (user, attrs) => auth.forbiddenStatus(user, attrs),
    unauthorizedStatus: () => auth.unauthorizedStatus(),
  };

  let port = options.port ?? 0;
  let url = '';
  const handler: ApiHandler = new ApiHandler(registry, {
    auth: authProvider,
    anonymousAdmin: !options.tls,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
    serverAddress: () => `${host}:${port}`,
  });

  const sockets = new Set<Socket>();
  const makeServer = (): Server => {
    const s = certs
      ? createHttpsServer({ cert: certs.serverCert, key: certs.serverKey }, handler.handle)
      : createHttpServer(handler.handle);
    s.keepAliveTimeout = 65_000;
    s.requestTimeout = 0;
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    s.on('secureConnection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    return s;
  };
  const listen = (s: Server, p: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      s.once('error', onError);
      s.listen(p, host, () => {
        s.off('error', onError);
        const addr = s.address();
        resolve(typeof addr === 'object' && addr ? addr.port : p);
      });
    });
  let server = makeServer();
  try {
    port = await listen(server, port);
  } catch (e) {
    if (!options.fallbackToRandomPort || (e as { code?: string }).code !== 'EADDRINUSE') throw e;
    server = makeServer();
    port = await listen(server, 0);
  }
  url = `${certs ? 'https' : 'http'}://${host}:${port}`;

  const adminToken = options.tls
    ? tokens.issue({ username: 'admin', groups: ['system:masters', 'system:authenticated'] })
    : undefined;
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    kubeconfig({
      server: url,
      ...(certs ? { caCertPem: certs.caCert } : {}),
      ...(adminToken ? { token: adminToken } : {}),
      user: 'admin',
    }),
    { mode: 0o600 },
  );

  const closeServer = async (): Promise<void> => {
    handler.closeAll();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };

  let minted = 0;
  const faults: Faults = {
    failNext: (count, spec) => handler.addFault(count, spec),
    delayNext: (count, ms, match = {}) => handler.addFault(count, { ...match, delayMs: ms }),
    dropWatches: (o = {}) => handler.dropWatches(o.abrupt === true),
    restart: async (o = {}) => {
      await closeServer();
      if (o.keepState === false) {
        const store = new Store(options.historyWindow ?? 10_000, registry.store.resourceVersion + 1000);
        registry = new Registry(hooks, { store });
        await bootstrap(registry);
        handler.registry = registry;
      } else if (o.keepHistory === false) registry.store.forgetHistory();
      if (o.downtimeMs) await new Promise((r) => setTimeout(r, o.downtimeMs));
      server = makeServer();
      await listen(server, port);
    },
    clear: () => handler.clearFaults(),
    get requests() {
      return handler.requests;
    },
    count: (filter = {}) =>
      handler.requests.filter((r) =>
        Object.entries(filter).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v),
      ).length,
    resetLog: () => {
      handler.requests.length = 0;
    },
  };

  return {
    url,
    port,
    kubeconfigPath,
    ...(certs ? { caCertPem: certs.caCert } : {}),
    ...(adminToken ? { token: adminToken } : {}),
    faults,
    get registry() {
      return handler.registry;
    },
    kubeconfigFor: async (who) => {
      const token = who.serviceAccount
        ? tokens.issueForServiceAccount(who.serviceAccount.namespace, who.serviceAccount.name)
        : tokens.issue({
            username: who.user ?? 'user',
            groups: [...(who.groups ?? []), 'system:authenticated'],
          });
      const user = who.serviceAccount
        ? `system:serviceaccount:${who.serviceAccount.namespace}:${who.serviceAccount.name}`
        : (who.user ?? 'user');
      const path = join(dir, `kubeconfig-${++minted}-${user.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
      await writeFile(
        path,
        kubeconfig({ server: url, ...(certs ? { caCertPem: certs.caCert } : {}), token, user }),
        { mode: 0o600 },
      );
      return path;
    },
    settle: () => handler.registry.settle(),
    stop: closeServer,
  };
}

export type { UserInfo };
