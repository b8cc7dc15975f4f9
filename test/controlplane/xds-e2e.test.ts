/**
 * The mesh data path end to end: Services, EndpointSlices, ServicePolicies and TrafficSplits in an
 * API server (the local cluster, or MESHWRIGHT_TEST_KUBECONFIG) → the model's informers → the
 * builders → the ADS server → real `@grpc/grpc-js-xds` clients and servers, whose calls show that
 * what the custom resources say is what happens: weighted canary routing and its updates, RBAC over
 * mTLS with SPIFFE identities, timeouts, retries, fault injection and outlier ejection, and renewed
 * workload certificates taken up by running servers and clients.
 *
 * Every test server is an xDS-enabled gRPC server (`XdsServer`: mTLS and RBAC from its Listener)
 * on 127.0.0.1, each on its own port; every client a meshed xDS channel with its own workload
 * certificate (SPIFFE URI SAN, from a test mesh CA) and bootstrap. The test writes the EndpointSlices
 * itself (`kubernetes.io/service-name`, IPv4, 127.0.0.1 and the server's port): what a real
 * cluster's EndpointSlice controller writes for a Service with a selector once its pods run — the
 * local cluster has no such controller and no pods. The Services keep their selectors, since only
 * Services with one get server Listeners (a server is a pod some Service selects).
 *
 * TrafficSplit weights come from `status.weights`, which the operator's TrafficSplit controller
 * writes; it does not run here, so the test writes the status subresource directly. ServicePolicies
 * are used as written. Every wait is a poll with a deadline; latencies are logged, not asserted.
 */
import '../../operator/controlplane/xds/grpc-env.js'; // before @grpc/grpc-js-xds: enables RBAC
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register, XdsChannelCredentials, XdsServer, XdsServerCredentials } from '@grpc/grpc-js-xds';
import { PriorityLoadBalancer } from '@grpc/grpc-js-xds/build/src/load-balancer-priority.js';
import { parse } from 'yaml';
import { API_VERSION } from '../../operator/api/index.js';
import { AdsServer, type NackEvent } from '../../operator/controlplane/ads/server.js';
import {
  issue,
  proxylessBootstrap,
  testCa,
  type CertFiles,
  type TestCa,
} from '../../operator/controlplane/ads/testing.js';
import { IDENTITY_FILES } from '../../operator/controlplane/injector/names.js';
import { XdsModel, type BuiltResources } from '../../operator/controlplane/model.js';
import { spiffeId } from '../../operator/controlplane/names.js';
import {
  outboundCluster,
  outboundListener,
  outboundRoute,
  serverListener,
} from '../../operator/controlplane/xds/names.js';
import { TYPE, type Message, type ResourceTypeUrl } from '../../operator/controlplane/xds/protos.js';
import {
  DEFAULT_MESH,
  SERVICE_NAME_LABEL,
  type MeshSettings,
} from '../../operator/controlplane/xds/snapshot.js';
import { SharedInformers, silentLogger, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { ServicePolicies } from '../../operator/servicepolicy/reconciler.js';
import { REAL, setup, waitFor, type Env } from '../runtime/support.js';

register();

/**
 * Works around a bug of @grpc/grpc-js-xds 1.14.1: destroying a priority policy (its channel closed,
 * or its cluster dropped from the routes) leaves each child's 10 s failover timer running when the
 * child was still connecting. The timer then revives the destroyed child, which opens a subchannel
 * nothing ever closes, and that subchannel's certificate provider keeps a timer that holds the
 * process open. A 0/100 split drops the stable cluster while it reconnects, so this test meets it.
 */
interface PriorityChild {
  cancelFailoverTimer(): void;
  maybeReactivate(): void;
}
const destroyPriority = PriorityLoadBalancer.prototype.destroy; // eslint-disable-line @typescript-eslint/unbound-method
PriorityLoadBalancer.prototype.destroy = function (this: PriorityLoadBalancer) {
  for (const child of (this as unknown as { children: Map<string, PriorityChild> }).children.values()) {
    child.cancelFailoverTimer();
    child.maybeReactivate(); // clears its deactivation timer
  }
  destroyPriority.call(this);
};

/** The test servers run in this process on 127.0.0.1, which a real API server refuses in EndpointSlices. */
const SKIP = REAL
  ? 'needs the local cluster: Kubernetes refuses loopback addresses in EndpointSlices'
  : false;

const ROOT = join(import.meta.dirname, '..', '..');
const FM = { fieldManager: 'meshwright-test' };
const PORT = 8080;
const PORT_NAME = 'grpc';
const BOOTSTRAP_KEY = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const MESH: MeshSettings = {
  ...DEFAULT_MESH,
  mtlsMode: 'Strict',
  defaultInboundPolicy: 'AllowAuthenticated',
};

// ---------------------------------------------------------------------------------------------
// The test service: one unary method, JSON on the wire (no .proto needed).

interface Request {
  /** Identifies one logical call across its retry attempts. */
  id?: string;
}
interface Reply {
  from: string;
}
const PATH = '/meshwright.e2e.Echo/Hello';
const toJson = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const fromJson = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;
const ECHO: grpc.ServiceDefinition = {
  Hello: {
    path: PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: toJson,
    requestDeserialize: fromJson<Request>,
    responseSerialize: toJson,
    responseDeserialize: fromJson<Reply>,
    originalName: 'hello',
  },
};

type Outcome = { ok: true; from: string } | { ok: false; code: grpc.status; details: string };

function call(client: grpc.Client, request: Request = {}, deadlineMs = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Request, Reply>(
      PATH,
      toJson,
      fromJson<Reply>,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, reply) => {
        if (err) resolve({ ok: false, code: err.code, details: err.details });
        else resolve({ ok: true, from: reply!.from });
      },
    );
  });
}

/** How a test server answers: its name, after `delayMs`; UNAVAILABLE for the first `failFirst` attempts of each call id, or always. */
interface Behaviour {
  delayMs?: number;
  failFirst?: number;
  alwaysFail?: boolean;
}

class Backend {
  calls = 0;
  readonly attempts = new Map<string, number>();
  /** Call id → SHA-256 fingerprint of the client certificate the call came with (mTLS). */
  readonly callers = new Map<string, string | undefined>();
  constructor(
    readonly name: string,
    readonly behaviour: Behaviour = {},
  ) {}

  readonly implementation: grpc.UntypedServiceImplementation = {
    Hello: (c: grpc.ServerUnaryCall<Request, Reply>, done: grpc.sendUnaryData<Reply>) => {
      this.calls++;
      const id = c.request.id ?? '';
      const attempt = (this.attempts.get(id) ?? 0) + 1;
      this.attempts.set(id, attempt);
      this.callers.set(id, c.getAuthContext().sslPeerCertificate?.fingerprint256);
      const { delayMs = 0, failFirst = 0, alwaysFail = false } = this.behaviour;
      if (alwaysFail || attempt <= failFirst)
        return done({ code: grpc.status.UNAVAILABLE, details: `${this.name}: attempt ${attempt} fails` });
      if (delayMs === 0) return done(null, { from: this.name });
      const timer = setTimeout(() => done(null, { from: this.name }), delayMs);
      c.on('cancelled', () => clearTimeout(timer));
    },
  };
}

/** A free port on 127.0.0.1 (an XdsServer needs its port before it binds: the Listener is named after it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Certificates: a test mesh CA and workload certificates with SPIFFE URI SANs, as files.

/** The test mesh CA (ads/testing.ts), writing each workload's certificate files into `dir`. */
class MeshCa {
  private constructor(
    private readonly ca: TestCa,
    private readonly dir: string,
  ) {}

  static async create(dir: string): Promise<MeshCa> {
    const ca = await testCa('meshwright-e2e-mesh-ca');
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    return new MeshCa(ca, dir);
  }

  /** The CA certificate (PEM): the `ca.crt` of every workload's Secret. */
  get pem(): string {
    return this.ca.cert;
  }

  /** The workload certificate of `namespace/serviceAccount` (URI SAN = its SPIFFE ID), as files in its own folder. */
  async issue(namespace: string, serviceAccount: string): Promise<CertFiles> {
    const { cert, key } = await this.certificate(namespace, serviceAccount);
    const base = join(this.dir, serviceAccount);
    await writeFile(`${base}.crt`, cert);
    await writeFile(`${base}.key`, key);
    return {
      certificate_file: `${base}.crt`,
      private_key_file: `${base}.key`,
      ca_certificate_file: join(this.dir, 'ca.crt'),
    };
  }

  /** A new workload certificate of `namespace/serviceAccount`, with a new key and serial number (PEM). */
  certificate(namespace: string, serviceAccount: string): Promise<{ cert: string; key: string }> {
    return issue(this.ca, { uris: [spiffeId(MESH.trustDomain, namespace, serviceAccount)] }, serviceAccount);
  }
}

/**
 * A workload's identity Secret mounted as the kubelet mounts it: the files live in a timestamped
 * folder, `..data` links to it, and `tls.crt`, `tls.key`, `ca.crt` link through `..data`. A renewal
 * writes a new folder and swaps `..data` with one rename, so a reader of the stable paths sees
 * either the old set or the new one, never a mix of files from both.
 */
class SecretVolume {
  private generation = 0;
  private current: string | undefined;
  constructor(readonly dir: string) {}

  /** The paths the injected bootstrap names (`IDENTITY_DIR/tls.crt`, …), here under `dir`. */
  get files(): CertFiles {
    return {
      certificate_file: join(this.dir, IDENTITY_FILES.certificate),
      private_key_file: join(this.dir, IDENTITY_FILES.privateKey),
      ca_certificate_file: join(this.dir, IDENTITY_FILES.ca),
    };
  }

  async write(secret: { cert: string; key: string; ca: string }): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace('Z', '');
    const version = `..${stamp}.${++this.generation}`;
    await mkdir(join(this.dir, version));
    await writeFile(join(this.dir, version, IDENTITY_FILES.certificate), secret.cert);
    await writeFile(join(this.dir, version, IDENTITY_FILES.privateKey), secret.key);
    await writeFile(join(this.dir, version, IDENTITY_FILES.ca), secret.ca);
    await symlink(version, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    for (const name of Object.values(IDENTITY_FILES))
      await symlink(join('..data', name), join(this.dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    // The kubelet removes the previous version once `..data` no longer points to it.
    if (this.current) await rm(join(this.dir, this.current), { recursive: true, force: true });
    this.current = version;
  }
}

/** The SHA-256 fingerprint of a PEM certificate, in the form TLS peers report it. */
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

// ---------------------------------------------------------------------------------------------
// The environment: API server, model, ADS server.

let env: Env;
let kube: Kube;
let ns: string;
let informers: SharedInformers;
let model: XdsModel;
let ads: AdsServer;
let adsPort: number;
let latest: BuiltResources | undefined;
let certDir: string;
let ca: MeshCa;
const servers: grpc.Server[] = [];
const nacks: NackEvent[] = [];
const clients: grpc.Client[] = [];

/**
 * The gRPC bootstrap the injector would write for a workload running as `serviceAccount`; its
 * certificate provider re-reads the files every `refreshInterval`.
 */
function bootstrap(serviceAccount: string, certs: CertFiles, refreshInterval = '600s'): string {
  return proxylessBootstrap({ adsPort, namespace: ns, serviceAccount, files: certs, refreshInterval });
}

/** The workload certificate files of each ServiceAccount, issued once. */
const identities = new Map<string, Promise<CertFiles>>();
const identity = (serviceAccount: string): Promise<CertFiles> => {
  if (!identities.has(serviceAccount)) identities.set(serviceAccount, ca.issue(ns, serviceAccount));
  return identities.get(serviceAccount)!;
};

/**
 * A meshed gRPC client of `xds:///<service>.<ns>.svc.cluster.local:8080`, running as
 * `serviceAccount`: its TLS settings come from the Cluster (`XdsChannelCredentials`), its
 * certificate from the bootstrap's certificate provider. `plainText` dials without TLS whatever the
 * Cluster says (a caller outside the mesh that was given the routes).
 */
async function xdsClient(
  service: string,
  serviceAccount = 'client',
  plainText = false,
): Promise<grpc.Client> {
  const credentials = plainText
    ? grpc.credentials.createInsecure()
    : new XdsChannelCredentials(grpc.credentials.createInsecure());
  const client = new grpc.Client(`xds:///${outboundRoute(ns, service, PORT)}`, credentials, {
    [BOOTSTRAP_KEY]: bootstrap(serviceAccount, await identity(serviceAccount)),
  });
  clients.push(client);
  return client;
}

/** What the control plane serves now (the last build). */
const served = (type: ResourceTypeUrl): Message[] => latest?.[type] ?? [];
const servedNamed = (type: ResourceTypeUrl, name: string): Message | undefined =>
  served(type).find((r) => r.name === name);

/**
 * An xDS-enabled gRPC server for `backend` on 127.0.0.1, running as `serviceAccount`: it serves
 * once it has its Listener (mTLS, RBAC), so the EndpointSlice naming its port comes first.
 */
async function meshServer(
  backend: Backend,
  port: number,
  serviceAccount: string,
  { refreshInterval, options }: { refreshInterval?: string; options?: grpc.ServerOptions } = {},
): Promise<void> {
  await waitFor(
    () => servedNamed(TYPE.listener, serverListener('127.0.0.1', port)),
    10_000,
    `the server Listener of ${backend.name}`,
  );
  const server = new XdsServer({
    ...options,
    [BOOTSTRAP_KEY]: bootstrap(serviceAccount, await identity(serviceAccount), refreshInterval),
  });
  server.addService(ECHO, backend.implementation);
  servers.push(server);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `127.0.0.1:${port}`,
      new XdsServerCredentials(grpc.ServerCredentials.createInsecure()),
      (e) => (e ? reject(e) : resolve()),
    ),
  );
}

const serviceObject = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: {
    selector: { app: name },
    ports: [{ name: PORT_NAME, port: PORT, targetPort: PORT_NAME, protocol: 'TCP' }],
  },
});

/** What the EndpointSlice controller would write for `service`'s ready pods (here: ports on 127.0.0.1). */
const endpointSlice = (service: string, ports: number[]): KubeObject[] =>
  ports.map((port, i) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-${i}`, namespace: ns, labels: { [SERVICE_NAME_LABEL]: service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: PORT_NAME, port, protocol: 'TCP' }],
  }));

/** A Service whose pods are `backends`, each an xDS-enabled server running as the Service's ServiceAccount. */
async function serviceWith(name: string, ...backends: Backend[]): Promise<void> {
  const ports: number[] = [];
  for (const _ of backends) ports.push(await freePort());
  await kube.apply(serviceObject(name), FM);
  for (const slice of endpointSlice(name, ports)) await kube.apply(slice, FM);
  for (const [i, backend] of backends.entries()) await meshServer(backend, ports[i]!, name);
}

const servicePolicy = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'ServicePolicy',
  metadata: { name, namespace: ns },
  spec: { targetRef: { kind: 'Service', name }, ...spec },
});

const splitRef = (name: string) => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  plural: 'trafficsplits',
  name,
  namespace: ns,
});

async function setWeights(name: string, stable: number, canary: number): Promise<void> {
  await kube.patchStatus(splitRef(name), { weights: { stable, canary } }, { resourceVersion: undefined });
}

/** The route action the control plane currently serves for `service` (from the last build). */
function servedRoute(service: string): Message | undefined {
  const route = servedNamed(TYPE.routeConfiguration, outboundRoute(ns, service, PORT));
  const host = (route?.virtual_hosts as Message[] | undefined)?.[0];
  return (host?.routes as Message[] | undefined)?.[0]?.route as Message | undefined;
}

/** Polls `client` until `pred` holds for an outcome; returns that outcome. */
const callUntil = (client: grpc.Client, pred: (o: Outcome) => boolean, what: string, request: Request = {}) =>
  waitFor(
    async () => {
      const o = await call(client, request, 2000);
      return pred(o) ? o : undefined;
    },
    10_000,
    what,
  );

const shares = (outcomes: Outcome[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.ok ? o.from : `error:${grpc.status[o.code]}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
};

async function installCrds(k: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await k.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, FM);
  await waitFor(() => k.list(ServicePolicies, { namespace: 'default' }).then(() => true), 15_000, 'the CRDs');
}

before(async () => {
  if (SKIP) return;
  env = await setup();
  kube = env.kube();
  await installCrds(kube);
  ns = await env.h.namespace('xds');
  certDir = await mkdtemp(join(tmpdir(), 'meshwright-xds-e2e-'));
  ca = await MeshCa.create(certDir);
  ads = new AdsServer({ logger: silentLogger(), onNack: (e) => nacks.push(e), shutdownGraceMs: 1000 });
  adsPort = await ads.listen({ host: '127.0.0.1', port: 0 });
  informers = new SharedInformers(env.kube(), { initialBackoffMs: 20, maxBackoffMs: 500 });
  model = new XdsModel({
    informers,
    namespace: ns,
    mesh: () => MESH,
    logger: silentLogger(),
    onResources: (resources) => {
      latest = resources;
      ads.publish(resources);
    },
  });
  informers.start();
  await model.start();
});

after(async () => {
  for (const client of clients) client.close();
  for (const server of servers) server.forceShutdown();
  model?.stop();
  await informers?.stop();
  await ads?.stop();
  await env?.h.close();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('xDS end to end: canary weights', { skip: SKIP }, () => {
  const stable = new Backend('web-stable');
  const canary = new Backend('web-canary');
  let client: grpc.Client;

  before(async () => {
    await serviceWith('web-stable', stable);
    await serviceWith('web-canary', canary);
    await kube.apply(serviceObject('web'), FM); // the apex: clients call it, the split routes it
    await kube.apply(
      {
        apiVersion: API_VERSION,
        kind: 'TrafficSplit',
        metadata: { name: 'web', namespace: ns },
        spec: {
          targetRef: { name: 'web' },
          backends: { stable: { name: 'web-stable' }, canary: { name: 'web-canary' } },
          strategy: { steps: [{ setWeight: 10 }] },
        },
      },
      FM,
    );
    await setWeights('web', 90, 10);
    await waitFor(() => servedRoute('web')?.weighted_clusters, 10_000, 'the 90/10 route to be built');
    client = await xdsClient('web');
  });

  it('splits 2,000 calls 90/10 (±3 %) between stable and canary', async () => {
    const outcomes: Outcome[] = [];
    for (let batch = 0; batch < 20; batch++)
      outcomes.push(...(await Promise.all(Array.from({ length: 100 }, () => call(client)))));
    const counts = shares(outcomes);
    assert.equal((counts['web-stable'] ?? 0) + (counts['web-canary'] ?? 0), 2000, JSON.stringify(counts));
    const canaryShare = (counts['web-canary'] ?? 0) / 2000;
    assert.ok(Math.abs(canaryShare - 0.1) <= 0.03, `canary got ${(canaryShare * 100).toFixed(1)} %`);
  });

  it('follows a weight change written to status.weights', async (t) => {
    const written = Date.now();
    await setWeights('web', 0, 100);
    // Twenty canary answers in a row: under 90/10 that happens once in 10^20 tries.
    let run = 0;
    let runStarted = 0;
    await waitFor(
      async () => {
        const startedAt = Date.now();
        const o = await call(client);
        if (o.ok && o.from === 'web-canary') {
          if (run++ === 0) runStarted = startedAt;
        } else run = 0;
        return run >= 20;
      },
      10_000,
      'every call to reach the canary',
    );
    t.diagnostic(`weights 0/100: calls followed ${runStarted - written} ms after the status write`);

    const before5050 = Date.now();
    await setWeights('web', 50, 50);
    await callUntil(client, (o) => o.ok && o.from === 'web-stable', 'stable to be called again');
    t.diagnostic(`weights 50/50: first stable answer ${Date.now() - before5050} ms after the status write`);
    const outcomes = await Promise.all(Array.from({ length: 1000 }, () => call(client)));
    const counts = shares(outcomes);
    assert.ok(Math.abs((counts['web-canary'] ?? 0) / 1000 - 0.5) <= 0.05, JSON.stringify(counts));
  });
});

describe('xDS end to end: access rules over mTLS', { skip: SKIP }, () => {
  const backend = new Backend('secure');

  before(async () => {
    // The policy first, so the server never serves under the mesh default.
    await kube.apply(
      servicePolicy('secure', {
        access: {
          defaultAction: 'Deny',
          rules: [{ name: 'allowed', action: 'Allow', from: [{ serviceAccounts: [`${ns}/allowed`] }] }],
        },
      }),
      FM,
    );
    await waitFor(() => model.servedGenerations().has(`${ns}/secure`), 10_000, 'the policy to be built');
    await serviceWith('secure', backend);
  });

  it('lets the allowed identity through and refuses another with PERMISSION_DENIED', async () => {
    const allowed = await xdsClient('secure', 'allowed');
    const other = await xdsClient('secure', 'other');
    const ok = await callUntil(allowed, (o) => o.ok, 'the allowed caller to get through');
    assert.deepEqual(ok, { ok: true, from: 'secure' });
    const denied = await call(other);
    assert.equal(denied.ok ? 'OK' : grpc.status[denied.code], 'PERMISSION_DENIED');
    const calls = backend.calls;
    assert.equal((await call(other)).ok, false);
    assert.equal(backend.calls, calls, 'the refused calls never reached the application');
  });

  it('refuses a plain-text caller (mtlsMode Strict)', async () => {
    const plain = await xdsClient('secure', 'allowed', true);
    const calls = backend.calls;
    for (let i = 0; i < 3; i++) {
      const o = await call(plain);
      assert.equal(o.ok ? 'OK' : grpc.status[o.code], 'UNAVAILABLE');
    }
    assert.equal(backend.calls, calls);
  });
});

describe('xDS end to end: resilience', { skip: SKIP }, () => {
  it('times a slow call out with DEADLINE_EXCEEDED (timeouts.request)', async () => {
    const backend = new Backend('slow', { delayMs: 5000 });
    await serviceWith('slow', backend);
    await kube.apply(servicePolicy('slow', { resilience: { timeouts: { request: '200ms' } } }), FM);
    await waitFor(() => servedRoute('slow')?.max_stream_duration, 10_000, 'the timeout to be built');
    const slow = await xdsClient('slow');
    // The client's own deadline (10 s) is later than the server's answer (5 s): only the route's
    // timeout can end the call with DEADLINE_EXCEEDED.
    const o = await call(slow, {}, 10_000);
    assert.equal(o.ok ? 'OK' : grpc.status[o.code], 'DEADLINE_EXCEEDED');
    assert.equal(backend.calls, 1, 'the call reached the server, which was still working on it');
  });

  it('retries UNAVAILABLE until the call succeeds (retries.attempts)', async () => {
    const flaky = new Backend('flaky', { failFirst: 2 });
    await serviceWith('flaky', flaky);
    await kube.apply(
      servicePolicy('flaky', {
        resilience: {
          retries: {
            attempts: 3,
            retryOn: ['unavailable'],
            backoff: { baseInterval: '10ms', maxInterval: '50ms' },
          },
        },
      }),
      FM,
    );
    await waitFor(() => servedRoute('flaky')?.retry_policy, 10_000, 'the retry policy to be built');
    const client = await xdsClient('flaky');
    const o = await call(client, { id: 'one' });
    assert.deepEqual(o, { ok: true, from: 'flaky' });
    assert.equal(flaky.attempts.get('one'), 3, 'two failed attempts, then the one that succeeded');
  });

  it('aborts calls with the injected gRPC status (faultInjection.abort)', async () => {
    const target = new Backend('faulty');
    await serviceWith('faulty', target);
    await kube.apply(
      servicePolicy('faulty', {
        resilience: { faultInjection: { abort: { grpcStatus: 'RESOURCE_EXHAUSTED', percentage: 100 } } },
      }),
      FM,
    );
    await waitFor(
      () =>
        JSON.stringify(servedNamed(TYPE.listener, outboundListener(ns, 'faulty', PORT))).includes(TYPE.fault),
      10_000,
      'the fault filter to be built',
    );
    const client = await xdsClient('faulty');
    const o = await call(client);
    assert.equal(o.ok ? 'OK' : grpc.status[o.code], 'RESOURCE_EXHAUSTED');
    assert.equal(target.calls, 0, 'the aborted call never left the client');
  });

  it('ejects an endpoint that keeps failing (outlierDetection)', async () => {
    const good = new Backend('good');
    const bad = new Backend('bad', { alwaysFail: true });
    await serviceWith('pool', good, bad);
    await kube.apply(
      servicePolicy('pool', {
        resilience: {
          circuitBreaker: {
            outlierDetection: {
              consecutive5xxErrors: 5,
              interval: '500ms',
              baseEjectionTime: '30s',
              maxEjectionPercent: 50,
            },
          },
        },
      }),
      FM,
    );
    await waitFor(
      () => servedNamed(TYPE.cluster, outboundCluster(ns, 'pool', PORT))?.outlier_detection,
      10_000,
      'the outlier detection to be built',
    );
    const client = await xdsClient('pool');
    const first = await callUntil(client, (o) => o.ok, 'the pool to answer');
    assert.equal(first.ok && first.from, 'good');
    // Round robin sends half the calls to `bad` until it is ejected: then fifty successes in a row.
    let streak = 0;
    await waitFor(
      async () => {
        const o = await call(client);
        streak = o.ok ? streak + 1 : 0;
        return streak >= 50;
      },
      10_000,
      'the failing endpoint to be ejected',
    );
    assert.ok(bad.calls >= 5, `bad was tried (${bad.calls} calls) before it was ejected`);
    const badCalls = bad.calls;
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => call(client)));
    assert.deepEqual(shares(outcomes), { good: 100 });
    assert.equal(bad.calls, badCalls, 'no call reached the ejected endpoint');
  });
});

describe('xDS end to end: workload certificate rotation', { skip: SKIP }, () => {
  /** What one call saw: the server's certificate (client side) and the client's (server side). */
  interface Seen {
    ok: boolean;
    server?: string;
    client?: string;
  }

  it('a running server and client take renewed certificates from their Secret volumes, without a restart', async (t) => {
    const serverAccount = 'renewing';
    const clientAccount = 'renewing-client';
    const serverVolume = new SecretVolume(join(certDir, 'volumes', serverAccount));
    const clientVolume = new SecretVolume(join(certDir, 'volumes', clientAccount));
    const serverA = await ca.certificate(ns, serverAccount);
    const clientA = await ca.certificate(ns, clientAccount);
    await serverVolume.write({ ...serverA, ca: ca.pem });
    await clientVolume.write({ ...clientA, ca: ca.pem });

    const backend = new Backend(serverAccount);
    const port = await freePort();
    await kube.apply(serviceObject(serverAccount), FM);
    for (const slice of endpointSlice(serverAccount, [port])) await kube.apply(slice, FM);
    identities.set(serverAccount, Promise.resolve(serverVolume.files)); // meshServer's bootstrap names them
    // The injector's bootstrap re-reads the files every 60 s; 1 s keeps the test short. An open
    // connection keeps the certificates it was made with (without the age limit the client sees
    // the old server certificate for as long as the test waits), so the server closes connections
    // after `grpc.max_connection_age_ms`, as servers with long-lived callers are configured to:
    // the same channel reconnects, and the new connection is made with what the files hold now.
    await meshServer(backend, port, serverAccount, {
      refreshInterval: '1s',
      options: { 'grpc.max_connection_age_ms': 200 },
    });
    const client = new grpc.Client(
      `xds:///${outboundRoute(ns, serverAccount, PORT)}`,
      new XdsChannelCredentials(grpc.credentials.createInsecure()),
      { [BOOTSTRAP_KEY]: bootstrap(clientAccount, clientVolume.files, '1s') },
    );
    clients.push(client);

    let calls = 0;
    const failures: string[] = [];
    const callAndSee = (): Promise<Seen> =>
      new Promise((resolve) => {
        const id = `rotation-${++calls}`;
        const unary = client.makeUnaryRequest<Request, Reply>(
          PATH,
          toJson,
          fromJson<Reply>,
          { id },
          new grpc.Metadata(),
          { deadline: Date.now() + 2000 },
          (err) => {
            if (err) failures.push(`${grpc.status[err.code]}: ${err.details}`);
            resolve({
              ok: !err,
              server: unary.getAuthContext()?.sslPeerCertificate?.fingerprint256,
              client: backend.callers.get(id),
            });
          },
        );
      });
    const seeUntil = (pred: (s: Seen) => boolean, what: string): Promise<Seen> =>
      waitFor(
        async () => {
          const seen = await callAndSee();
          return seen.ok && pred(seen) ? seen : undefined;
        },
        10_000,
        what,
      );

    const first = await seeUntil(() => true, 'a first call');
    assert.deepEqual(first, {
      ok: true,
      server: fingerprint(serverA.cert),
      client: fingerprint(clientA.cert),
    });

    // The server's Secret is renewed: same identity, new key and serial number.
    const serverB = await ca.certificate(ns, serverAccount);
    assert.notEqual(fingerprint(serverB.cert), fingerprint(serverA.cert));
    let renewed = Date.now();
    await serverVolume.write({ ...serverB, ca: ca.pem });
    const afterServer = await seeUntil(
      (s) => s.server === fingerprint(serverB.cert),
      "the client to be shown the server's renewed certificate",
    );
    t.diagnostic(
      `server certificate renewed: first seen by the client ${Date.now() - renewed} ms after the swap`,
    );
    assert.equal(
      afterServer.client,
      fingerprint(clientA.cert),
      "the client's certificate is still the first one",
    );

    // Then the client's.
    const clientB = await ca.certificate(ns, clientAccount);
    renewed = Date.now();
    await clientVolume.write({ ...clientB, ca: ca.pem });
    const afterClient = await seeUntil(
      (s) => s.client === fingerprint(clientB.cert),
      "the server to be shown the client's renewed certificate",
    );
    t.diagnostic(
      `client certificate renewed: first seen by the server ${Date.now() - renewed} ms after the swap`,
    );
    assert.equal(afterClient.server, fingerprint(serverB.cert));
    t.diagnostic(
      `${calls} calls, ${failures.length} failed${failures.length ? `: ${[...new Set(failures)].join('; ')}` : ''}`,
    );
  });
});

describe('xDS end to end: the proxies accepted everything', { skip: SKIP }, () => {
  it('no client or server NACKed a resource', (t) => {
    t.diagnostic(
      `model: ${model.builds.total} builds for ${model.builds.changes} changes, ${model.builds.failed} failed; ` +
        `last build ${model.lastBuildMs} ms, ${model.lastBuildDelayMs} ms after its first change`,
    );
    assert.deepEqual(
      nacks.map((n) => `${n.node.id} ${n.typeUrl}: ${n.message}`),
      [],
    );
  });
});
