/**
 * The control plane (figures, never pass/fail): how fast a TrafficSplit weight change reaches the
 * proxies, and what the control plane costs in memory.
 *
 * Layout: the local cluster (API server), the clients and the clock are in this process; the control
 * plane (`startControlPlane` as `meshwright dev` runs it: Manager, informers, XdsModel, AdsServer on
 * plaintext 127.0.0.1; no webhook, mTLS port, identities or leader election) runs in a child process
 * of its own (bench/controlplane-server.ts), so its memory is its own. The child gets the heap
 * ceiling Node takes in the control plane's pod (`POD_NODE_FLAGS`).
 *
 * Latency: a change is a write of the TrafficSplit's `status.weights` (the status subresource; the
 * operator is not running), timed from just before the request with `performance.now()`. A client
 * has it when
 * - raw client: a RouteConfiguration response carrying the new weights arrives on its stream. A raw
 *   client speaks ADS over @grpc/grpc-js as an xDS client does (own channel, connection, node id and
 *   stream; every response ACKed). As gRPC (`PROXY_TYPE: grpc`): LDS by name → RDS → CDS → EDS by
 *   name. As Envoy (`PROXY_TYPE: envoy`): LDS and CDS wildcard, RDS and EDS for every name those
 *   give. Decoding is cached by content (clients get the same bytes), so 500 clients in one process
 *   cost the clock little.
 * - real gRPC client (`@grpc/grpc-js-xds`, `xds:///` target): the first reply from the other backend.
 *   Weights flip 100/0 ↔ 0/100 between two gRPC servers on 127.0.0.1 that answer with their name;
 *   calls go one after another without pause. This includes what gRPC does after the route: CDS
 *   and EDS for the other cluster, and a new connection.
 * Raw clients see weights alternate 80/20 ↔ 20/80. The next change starts once every client has the
 * last one, at least 300 ms after it.
 *
 * Runs, on the apex Service `app` (3 Services): 1 raw client; 1 gRPC client; 500 raw clients. Then
 * 1,000 more Services (3 endpoints each, 20 ServicePolicies, 10 TrafficSplits, in 10 member
 * namespaces): 500 raw gRPC clients subscribed to the apex and 4 other Services each; then 500 raw
 * Envoy clients, connected 50 at a time.
 *
 * Memory: the child's RSS, heap and Buffers after a full GC at each stage, and its peak RSS. Also
 * the build of a full snapshot (a rebuild that changes nothing: snapshot, builders, ADS diff) and,
 * per change, the build and its ADS publish.
 *
 * Goals: p99 ≤ 100 ms, RSS ≤ 300 MB (1,000 Services, 500 clients).
 *
 * Knobs: `BENCH_FULL=1`: 100 changes per run instead of 30 (30 instead of 10 for Envoy clients).
 * `BENCH_CP=large`: only the 1,000-Service runs. `BENCH_CP_NODE_FLAGS`: the child's Node flags
 * instead of `POD_NODE_FLAGS` (`''`: none). `BENCH_CP_PROFILE=<dir>`: the child writes a CPU
 * profile there.
 */
import '../operator/controlplane/xds/grpc-env.js'; // before @grpc/grpc-js-xds
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { loadSync } from '@grpc/proto-loader';
import { parse } from 'yaml';
import { API_VERSION } from '../operator/api/index.js';
import { INJECTION_LABEL } from '../operator/api/meshinstallation.js';
import { issue, proxylessBootstrap, testCa } from '../operator/controlplane/ads/testing.js';
import { NODE_METADATA, nodeId, spiffeId } from '../operator/controlplane/names.js';
import {
  outboundCluster,
  outboundListener,
  outboundRoute,
  sidecarOutboundCluster,
  sidecarOutboundRoute,
} from '../operator/controlplane/xds/names.js';
import { decode, envoyIncludeDirs, TYPE, type Message } from '../operator/controlplane/xds/protos.js';
import { SERVICE_NAME_LABEL } from '../operator/controlplane/xds/snapshot.js';
import { startLocalCluster } from '../operator/localcluster/index.js';
import { createKube, type Kube, type KubeObject } from '../operator/runtime/index.js';
import { TrafficSplits } from '../operator/trafficsplit/reconciler.js';
import type {
  Message as ServerMessage,
  Reply,
  Request as ServerRequest,
  ServerStats,
} from './controlplane-server.js';
import type { Figure } from './runtime.js';

grpcXds.register();

const ROOT = join(import.meta.dirname, '..');
const NS = 'bench-cp';
const PORT = 8080;
const PORT_NAME = 'grpc';
const SERVICES = 1_000;
const SERVICE_NAMESPACES = 10;
const CLIENTS = 500;
const SPACING_MS = 300;
const CHANGE_TIMEOUT_MS = 10_000;
const BOOTSTRAP_KEY = 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config';
const FM = { fieldManager: 'bench' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The control plane's process

/**
 * The heap ceiling Node gives itself in the control plane's pod: the MeshInstallation's default
 * memory limit is 512 Mi, and Node (22+) sizes its old generation from the cgroup limit, to about
 * half of it. On a machine without a limit it would size it from all the memory there is, and
 * collect so rarely that RSS says little about the control plane.
 */
const POD_NODE_FLAGS = '--max-old-space-size=256';

/** Set when the control plane's process died before it was asked to stop: every wait gives up. */
let childFailure: Error | undefined;

class ControlPlaneProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (m: Reply) => void>();
  private stopping = false;
  readonly port: Promise<number>;
  readonly published: Promise<void>;
  readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let ready!: (port: number) => void;
    let published!: () => void;
    let failed!: (e: Error) => void;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    this.port = Promise.race([new Promise<number>((r) => (ready = r)), failure]);
    this.published = Promise.race([new Promise<void>((r) => (published = r)), failure]);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (!this.stopping) {
          childFailure = new Error(`the control plane process exited (${signal ?? `code ${code}`})`);
          failed(childFailure);
          for (const answer of [...this.waiting.values()]) answer({ id: 0, error: childFailure.message });
        }
        resolve();
      });
      child.on('error', (e) => {
        childFailure = e;
        failed(e);
        resolve();
      });
    });
    child.on('message', (m: ServerMessage) => {
      if ('ready' in m) ready(m.ready);
      else if ('published' in m) published();
      else this.waiting.get(m.id)?.(m);
    });
  }

  static start(kubeconfig: string): ControlPlaneProcess {
    // Compiled (.js), the child runs as the control plane does in production: without tsx.
    const ext = extname(fileURLToPath(import.meta.url));
    const script = join(import.meta.dirname, `controlplane-server${ext}`);
    const profile = process.env.BENCH_CP_PROFILE;
    const flags = [
      ...(process.env.BENCH_CP_NODE_FLAGS ?? POD_NODE_FLAGS).split(' ').filter(Boolean),
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      ...(ext === '.ts' ? ['--import', 'tsx'] : []),
    ];
    childFailure = undefined;
    return new ControlPlaneProcess(
      spawn(process.execPath, ['--expose-gc', ...flags, script, kubeconfig], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
  }

  private ask(cmd: ServerRequest['cmd']): Promise<Reply> {
    if (childFailure) return Promise.resolve({ id: 0, error: childFailure.message });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, (m) => {
        this.waiting.delete(id);
        resolve(m);
      });
      this.child.send({ id, cmd } satisfies ServerRequest);
    });
  }

  async stats(cmd: 'stats' | 'memory' | 'rebuild' = 'stats'): Promise<ServerStats> {
    const m = await this.ask(cmd);
    if (m.stats === undefined) throw new Error(`the control plane process: ${m.error ?? 'no answer'}`);
    return m.stats;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.connected) {
      this.stopping = true;
      await this.ask('stop');
    }
    const timer = setTimeout(() => {
      console.error('bench/controlplane: the control plane did not stop within 15 s; killed');
      this.child.kill('SIGKILL');
    }, 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// A raw ADS client

interface DiscoveryRequest {
  version_info?: string;
  node?: unknown;
  resource_names?: string[];
  type_url: string;
  response_nonce?: string;
}

/** A DiscoveryResponse read lazily: its header, and each resource's Any `value` bytes undecoded. */
interface RawResponse {
  version: string;
  typeUrl: string;
  nonce: string;
  values: Buffer[];
}

function varint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
    shift += 7;
  }
}

/** Walks the fields of a message; `length` fields get their bytes, others are skipped. */
function fields(buf: Buffer, onBytes: (field: number, bytes: Buffer) => void): void {
  let at = 0;
  while (at < buf.length) {
    const [key, next] = varint(buf, at);
    at = next;
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        at = varint(buf, at)[1];
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const [length, start] = varint(buf, at);
        onBytes(field, buf.subarray(start, start + length));
        at = start + length;
        break;
      }
      default:
        throw new Error(`unexpected wire type ${key & 7}`);
    }
  }
}

/** envoy.service.discovery.v3.DiscoveryResponse: 1 version_info, 2 resources (Any: 2 value), 4 type_url, 5 nonce. */
function readResponse(buf: Buffer): RawResponse {
  const r: RawResponse = { version: '', typeUrl: '', nonce: '', values: [] };
  fields(buf, (field, bytes) => {
    if (field === 1) r.version = bytes.toString('utf8');
    else if (field === 4) r.typeUrl = bytes.toString('utf8');
    else if (field === 5) r.nonce = bytes.toString('utf8');
    else if (field === 2) fields(bytes, (f, value) => f === 2 && r.values.push(value));
  });
  return r;
}

let serializeRequest: ((r: DiscoveryRequest) => Buffer) | undefined;
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

function requestSerializer(): (r: DiscoveryRequest) => Buffer {
  if (serializeRequest === undefined) {
    const pkg = loadSync('envoy/service/discovery/v3/ads.proto', {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: false,
      oneofs: true,
      includeDirs: envoyIncludeDirs(),
    });
    const service = pkg['envoy.service.discovery.v3.AggregatedDiscoveryService'] as Record<
      string,
      { requestSerialize: (r: DiscoveryRequest) => Buffer }
    >;
    serializeRequest = service.StreamAggregatedResources!.requestSerialize;
  }
  return serializeRequest;
}

/** What a client takes from one resource: the names it leads to, and for a route its weights. */
interface Derived {
  /** LDS: route names; RDS: cluster names; CDS: EDS names. */
  next: string[];
  /** RDS: route name → `cluster=weight,…` of its first route. */
  routes?: Map<string, string>;
}

const decodedResources = new Map<string, Derived>();
const decodedResponses = new Map<string, Derived>();

function deriveOne(typeUrl: string, value: Buffer): Derived {
  const key = typeUrl + value.toString('latin1');
  let d = decodedResources.get(key);
  if (d !== undefined) return d;
  const m = decode(typeUrl, value);
  if (typeUrl === TYPE.listener) {
    // gRPC: the api_listener's connection manager; Envoy: the connection managers of the filter chains.
    const managers = [
      (m.api_listener as Message | undefined)?.api_listener,
      ...[...((m.filter_chains as Message[] | undefined) ?? []), m.default_filter_chain].flatMap((chain) =>
        (((chain as Message | undefined)?.filters as Message[] | undefined) ?? []).map((f) => f.typed_config),
      ),
    ] as (Message | undefined)[];
    const routes = managers.flatMap((hcm) => {
      const route = (hcm?.rds as Message | undefined)?.route_config_name;
      return typeof route === 'string' ? [route] : [];
    });
    d = { next: routes };
  } else if (typeUrl === TYPE.routeConfiguration) {
    const action =
      (((m.virtual_hosts as Message[] | undefined)?.[0]?.routes as Message[] | undefined)?.[0]?.route as
        Message | undefined) ?? {};
    const weighted = (action.weighted_clusters as Message | undefined)?.clusters as Message[] | undefined;
    const clusters = weighted
      ? weighted.map((c) => [c.name as string, (c.weight as Message).value as number] as const)
      : action.cluster
        ? [[action.cluster as string, 100] as const]
        : [];
    d = {
      next: clusters.map(([name]) => name),
      routes: new Map([[m.name as string, clusters.map(([n, w]) => `${n}=${w}`).join(',')]]),
    };
  } else if (typeUrl === TYPE.cluster) {
    const eds = m.eds_cluster_config as Message | undefined;
    d = { next: eds ? [(eds.service_name as string | undefined) ?? (m.name as string)] : [] };
  } else d = { next: [] };
  decodedResources.set(key, d);
  return d;
}

/** What a whole response leads to; every client with the same subscription gets the same bytes. */
function derive(r: RawResponse): Derived {
  const key = `${r.typeUrl}|${r.version}|${r.values.length}`;
  let d = decodedResponses.get(key);
  if (d !== undefined) return d;
  const next = new Set<string>();
  const routes = new Map<string, string>();
  for (const value of r.values) {
    const one = deriveOne(r.typeUrl, value);
    for (const n of one.next) next.add(n);
    for (const [k, v] of one.routes ?? []) routes.set(k, v);
  }
  d = { next: [...next].sort(), routes };
  decodedResponses.set(key, d);
  return d;
}

const ORDER = [TYPE.listener, TYPE.routeConfiguration, TYPE.cluster, TYPE.clusterLoadAssignment];
const FOLLOWS: Record<string, string | undefined> = {
  [TYPE.listener]: TYPE.routeConfiguration,
  [TYPE.routeConfiguration]: TYPE.cluster,
  [TYPE.cluster]: TYPE.clusterLoadAssignment,
};

/**
 * One xDS client: its own channel (so its own connection), node and ADS stream. `listeners`: the
 * Listeners it asks for by name (a gRPC client's targets), or `'*'` for everything (LDS and CDS
 * wildcard, as an Envoy sidecar). Routes, clusters and assignments follow from what it receives.
 * Every response is taken as the whole subscribed set of its type, as this server sends them (the
 * protocol would let RDS and EDS responses carry only what changed; a client following that would
 * have to merge).
 */
class RawAdsClient {
  /** Route name → weights signature, as last received. */
  readonly routes = new Map<string, string>();
  readonly received = new Set<string>();
  onRoute: (client: RawAdsClient, route: string, signature: string, at: number) => void = () => undefined;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<DiscoveryRequest, RawResponse>;
  private readonly state = new Map<string, { names: string[]; version: string; nonce: string }>();
  private readonly wildcard: boolean;
  private closed = false;
  errors = 0;

  constructor(
    address: string,
    readonly id: string,
    listeners: string[] | '*',
    private readonly proxyType: 'grpc' | 'envoy' = 'grpc',
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    this.call = this.client.makeBidiStreamRequest(ADS_PATH, requestSerializer(), readResponse);
    this.call.on('data', (r: RawResponse) => this.onResponse(r, performance.now()));
    this.call.on('error', () => {
      if (!this.closed) this.errors++;
    });
    this.wildcard = listeners === '*';
    this.send(TYPE.listener, this.wildcard ? [] : [...listeners], true);
    if (this.wildcard) this.send(TYPE.cluster, []);
  }

  /** Has a response of every type. */
  ready(): boolean {
    return ORDER.every((t) => this.received.has(t));
  }

  private send(typeUrl: string, names: string[], first = false): void {
    const s = this.state.get(typeUrl) ?? { names, version: '', nonce: '' };
    s.names = names;
    this.state.set(typeUrl, s);
    this.call.write({
      type_url: typeUrl,
      resource_names: names,
      version_info: s.version,
      response_nonce: s.nonce,
      ...(first
        ? {
            node: {
              id: this.id,
              cluster: NS,
              metadata: {
                fields: {
                  [NODE_METADATA.namespace]: { stringValue: NS, kind: 'stringValue' },
                  [NODE_METADATA.proxyType]: { stringValue: this.proxyType, kind: 'stringValue' },
                },
              },
              user_agent_name: 'meshwright-bench',
            },
          }
        : {}),
    });
  }

  private onResponse(r: RawResponse, at: number): void {
    const s = this.state.get(r.typeUrl);
    if (s === undefined) return;
    s.version = r.version;
    s.nonce = r.nonce;
    this.received.add(r.typeUrl);
    const d = derive(r);
    this.send(r.typeUrl, s.names); // ACK
    for (const [route, signature] of d.routes ?? []) {
      if (this.routes.get(route) !== signature) {
        this.routes.set(route, signature);
        this.onRoute(this, route, signature, at);
      }
    }
    const follows = FOLLOWS[r.typeUrl];
    // A wildcard client's CDS stays wildcard; otherwise it asks for exactly what the response names.
    if (follows === undefined || (this.wildcard && follows === TYPE.cluster)) return;
    const current = this.state.get(follows);
    if (current === undefined || current.names.join('\n') !== d.next.join('\n')) this.send(follows, d.next);
  }

  close(): void {
    this.closed = true;
    this.call.cancel();
    this.client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// A real gRPC client and two backends

const HELLO = '/meshwright.bench.Echo/Hello';
const raw = (b: Buffer) => b;

async function backend(name: string): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(
    {
      Hello: {
        path: HELLO,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Hello: (_c: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, Buffer.from(name)),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { server, port };
}

function hello(client: grpc.Client): Promise<string | undefined> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      HELLO,
      raw,
      raw,
      Buffer.alloc(0),
      { deadline: Date.now() + 5_000 },
      (err, reply) => resolve(err ? undefined : reply!.toString()),
    ),
  );
}

/** The bootstrap the injector writes for a proxyless workload, with the mesh certificate provider (the Clusters name it). */
async function grpcBootstrap(adsPort: number, dir: string): Promise<string> {
  const ca = await testCa();
  const workload = await issue(ca, { uris: [spiffeId('cluster.local', NS, 'client')] });
  const file = async (name: string, content: string) => {
    await writeFile(join(dir, name), content);
    return join(dir, name);
  };
  return proxylessBootstrap({
    adsPort,
    namespace: NS,
    serviceAccount: 'client',
    files: {
      certificate_file: await file('tls.crt', workload.cert),
      private_key_file: await file('tls.key', workload.key),
      ca_certificate_file: await file('ca.crt', ca.cert),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// The cluster's contents

/** A mesh member: the label a default MeshInstallation selects (Envoy sidecars capture only members' Services). */
const namespace = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { [INJECTION_LABEL]: 'enabled' } },
});

const service = (namespace: string, name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: {
    selector: { app: name },
    ports: [{ name: PORT_NAME, port: PORT, targetPort: PORT, protocol: 'TCP' }],
  },
});

/** What the EndpointSlice controller would write (the local cluster runs none). */
const slice = (namespace: string, name: string, addresses: string[], port = PORT): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${name}-0`, namespace, labels: { [SERVICE_NAME_LABEL]: name } },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, zone: 'zone-a' })),
  ports: [{ name: PORT_NAME, port, protocol: 'TCP' }],
});

const split = (namespace: string, apex: string, stable: string, canary: string): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  metadata: { name: apex, namespace },
  spec: {
    targetRef: { name: apex },
    backends: { stable: { name: stable }, canary: { name: canary } },
    strategy: { interval: '1m', stepWeight: 10 },
  },
});

const splitRef = (namespace: string, name: string) => ({
  apiVersion: API_VERSION,
  kind: 'TrafficSplit',
  plural: TrafficSplits.plural,
  name,
  namespace,
});

/** The canary weight last written to the apex split. */
let apexCanary = 0;

const setWeights = (kube: Kube, namespace: string, name: string, canary: number) => {
  if (namespace === NS && name === 'app') apexCanary = canary;
  return kube.patchStatus(
    splitRef(namespace, name),
    { weights: { stable: 100 - canary, canary } },
    { resourceVersion: undefined },
  );
};

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function installCrds(kube: Kube): Promise<void> {
  for (const file of (await readdir(join(ROOT, 'crds'))).filter((f) => f.endsWith('.yaml')))
    await kube.apply(parse(await readFile(join(ROOT, 'crds', file), 'utf8')) as KubeObject, FM);
  for (let i = 0; ; i++) {
    try {
      await kube.list(TrafficSplits, { namespace: 'default' });
      return;
    } catch (e) {
      if (i > 1500) throw e;
      await sleep(10);
    }
  }
}

const bigNamespace = (i: number) => `bench-cp-${i}`;
/** The `i`th of the 1,000 Services: namespace and name. */
const bigService = (i: number): [string, string] => [
  bigNamespace(Math.floor(i / (SERVICES / SERVICE_NAMESPACES))),
  `svc-${i % (SERVICES / SERVICE_NAMESPACES)}`,
];

/** 1,000 Services with 3 endpoints each; 20 ServicePolicies; 10 TrafficSplits (30 of the Services). */
async function populate(kube: Kube): Promise<void> {
  for (let n = 0; n < SERVICE_NAMESPACES; n++) await kube.create(namespace(bigNamespace(n)));
  const objects: KubeObject[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const [namespace, name] = bigService(i);
    const base = `10.${Math.floor(i / 250)}.${i % 250}`;
    objects.push(
      service(namespace, name),
      slice(
        namespace,
        name,
        [1, 2, 3].map((k) => `${base}.${k}`),
      ),
    );
  }
  for (let i = 0; i < 20; i++) {
    const [namespace, name] = bigService(100 + i);
    objects.push({
      apiVersion: API_VERSION,
      kind: 'ServicePolicy',
      metadata: { name, namespace },
      spec: {
        targetRef: { kind: 'Service', name },
        access: {
          defaultAction: 'Deny',
          rules: [{ name: 'callers', action: 'Allow', from: [{ namespaces: [bigNamespace(0), NS] }] }],
        },
        resilience: {
          timeouts: { request: '2s' },
          retries: { attempts: 3, retryOn: ['unavailable'] },
          circuitBreaker: { outlierDetection: { consecutive5xxErrors: 5 } },
        },
      },
    });
  }
  await pool(objects, 32, (o) => kube.create(o));
  for (let k = 0; k < 10; k++) {
    const [namespace, apex] = bigService(3 * k);
    await kube.create(split(namespace, apex, bigService(3 * k + 1)[1], bigService(3 * k + 2)[1]));
    await setWeights(kube, namespace, apex, 10);
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

const APEX_LISTENER = outboundListener(NS, 'app', PORT);

/** How a flavor of proxy names the apex route and the backends' clusters. */
interface Flavor {
  route: string;
  cluster: (service: string) => string;
}
const GRPC: Flavor = { route: outboundRoute(NS, 'app', PORT), cluster: (s) => outboundCluster(NS, s, PORT) };
const ENVOY: Flavor = {
  route: sidecarOutboundRoute(NS, 'app', PORT),
  cluster: (s) => sidecarOutboundCluster(NS, s, PORT),
};

/** The apex route's signature the builders give for these weights (a backend at 0 % is left out). */
function signature(flavor: Flavor, canary: number): string {
  const parts: string[] = [];
  if (canary < 100) parts.push(`${flavor.cluster('app-stable')}=${100 - canary}`);
  if (canary > 0) parts.push(`${flavor.cluster('app-canary')}=${canary}`);
  return parts.join(',');
}

interface Latencies {
  samples: number[];
  missing: number;
  /** Per change: the model's build (snapshot + builders + publish) and the ADS publish alone, ms. */
  buildMs: number[];
  publishMs: number[];
}

/** Waits for `pred`, polling every 5 ms; false when `timeoutMs` passed first. */
async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    if (childFailure) throw childFailure;
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/**
 * `changes` weight changes; `expect(canary)` registers what each observer waits for and returns
 * how many observations complete the change; `observed()` how many have.
 */
async function changeLoop(
  kube: Kube,
  cp: ControlPlaneProcess,
  changes: number,
  /** The next canary weight, from the one in force. */
  weight: (current: number) => number,
  begin: (canary: number, t0: number) => void,
  complete: () => boolean,
): Promise<Omit<Latencies, 'samples'> & { missing: number }> {
  const out = { missing: 0, buildMs: [] as number[], publishMs: [] as number[] };
  let before = await cp.stats();
  for (let i = 0; i < changes; i++) {
    const canary = weight(apexCanary);
    const t0 = performance.now();
    begin(canary, t0);
    await setWeights(kube, NS, 'app', canary);
    if (!(await until(complete, CHANGE_TIMEOUT_MS))) out.missing++;
    const after = await cp.stats();
    if (after.builds > before.builds) {
      out.buildMs.push(after.lastBuildMs);
      if (after.pushes > before.pushes)
        out.publishMs.push(
          ((after.pushSeconds - before.pushSeconds) / (after.pushes - before.pushes)) * 1000,
        );
    }
    before = after;
    const wait = t0 + SPACING_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return out;
}

/** Raw clients: each (change, client) sample is the time to the RouteConfiguration with the new weights. */
async function rawRun(
  kube: Kube,
  cp: ControlPlaneProcess,
  clients: RawAdsClient[],
  changes: number,
  flavor: Flavor = GRPC,
): Promise<Latencies> {
  const samples: number[] = [];
  let expected = '';
  let t0 = 0;
  let got = new Set<RawAdsClient>();
  for (const c of clients)
    c.onRoute = (client, route, sig, at) => {
      if (route === flavor.route && sig === expected && !got.has(client)) {
        got.add(client);
        samples.push(at - t0);
      }
    };
  const result = await changeLoop(
    kube,
    cp,
    changes,
    (current) => (current === 80 ? 20 : 80),
    (canary, start) => {
      expected = signature(flavor, canary);
      t0 = start;
      got = new Set();
    },
    () => got.size === clients.length,
  );
  return { samples, ...result, missing: clients.length * changes - samples.length };
}

async function connect(
  address: string,
  count: number,
  listeners: (i: number) => string[] | '*',
  prefix: string,
  proxyType: 'grpc' | 'envoy' = 'grpc',
) {
  const clients = Array.from(
    { length: count },
    (_, i) => new RawAdsClient(address, nodeId(`${prefix}-${i}`, NS), listeners(i), proxyType),
  );
  if (!(await until(() => clients.every((c) => c.ready()), 120_000)))
    throw new Error(`${clients.filter((c) => !c.ready()).length} of ${count} clients got no configuration`);
  return clients;
}

/** Weights flip 100/0 ↔ 0/100; the sample is the first reply from the backend now at 100 %. */
async function grpcRun(
  kube: Kube,
  cp: ControlPlaneProcess,
  adsPort: number,
  dir: string,
  changes: number,
): Promise<Latencies & { failedCalls: number; calls: number }> {
  const client = new grpc.Client(`xds:///${APEX_LISTENER}`, grpc.credentials.createInsecure(), {
    [BOOTSTRAP_KEY]: await grpcBootstrap(adsPort, dir),
  });
  let running = true;
  let calls = 0;
  let failedCalls = 0;
  let want = '';
  let t0 = 0;
  let seen = true;
  const samples: number[] = [];
  let last = '';
  let streak = 0;
  const loop = (async () => {
    while (running) {
      const from = await hello(client);
      calls++;
      if (from === undefined) failedCalls++;
      else {
        streak = from === last ? streak + 1 : 1;
        last = from;
        if (!seen && from === want) {
          seen = true;
          samples.push(performance.now() - t0);
        }
      }
    }
  })();
  try {
    await setWeights(kube, NS, 'app', 0);
    // all to stable: a stable reply could still come from the previous (weighted) route, a hundred in a row cannot
    if (!(await until(() => last === 'stable' && streak >= 100, 30_000)))
      throw new Error('the gRPC client never reached stable');
    calls = 0;
    failedCalls = 0;
    const result = await changeLoop(
      kube,
      cp,
      changes,
      (current) => (current === 100 ? 0 : 100),
      (canary, start) => {
        want = canary === 100 ? 'canary' : 'stable';
        t0 = start;
        seen = false;
      },
      () => seen,
    );
    return { samples, ...result, failedCalls, calls };
  } finally {
    running = false;
    await loop;
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (v: number) => +v.toFixed(1);
const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** `observed`: what ends a sample ("the route", "the first reply from the new backend"). */
function latencyFigures(what: string, observed: string, l: Latencies, changes: number): Figure[] {
  const figures: Figure[] = [
    {
      name: `${what}: write → ${observed}, p50 (${changes} changes, ${l.samples.length} samples)`,
      value: ms(pct(l.samples, 50)),
      unit: 'ms',
    },
    { name: '  p99', value: ms(pct(l.samples, 99)), unit: 'ms', goal: '≤ 100' },
    { name: '  max', value: ms(Math.max(...l.samples)), unit: 'ms' },
  ];
  if (l.missing > 0)
    figures.push({ name: `  not received within ${CHANGE_TIMEOUT_MS} ms`, value: l.missing, unit: '' });
  figures.push(
    {
      name: '  build per change, mean (snapshot, builders, publish)',
      value: ms(mean(l.buildMs)),
      unit: 'ms',
    },
    { name: '  of which ADS publish (diff, encode, writes), mean', value: ms(mean(l.publishMs)), unit: 'ms' },
  );
  return figures;
}

function memoryFigures(what: string, s: ServerStats, goal = false): Figure[] {
  return [
    { name: `control plane RSS, ${what}`, value: mb(s.rss), unit: 'MB', ...(goal ? { goal: '≤ 300' } : {}) },
    { name: `  heap used (of the heap V8 holds)`, value: mb(s.heapUsed), unit: 'MB' },
    { name: `  heap V8 holds`, value: mb(s.heapTotal), unit: 'MB' },
    { name: `  external (Buffers)`, value: mb(s.external), unit: 'MB' },
    { name: `  peak RSS so far`, value: mb(s.maxRss), unit: 'MB' },
  ];
}

export async function controlPlaneBench(): Promise<Figure[]> {
  const changes = process.env.BENCH_FULL === '1' ? 100 : 30;
  const envoyChanges = process.env.BENCH_FULL === '1' ? 30 : 10;
  const small = process.env.BENCH_CP !== 'large';
  const figures: Figure[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'meshwright-bench-cp-'));
  const cluster = await startLocalCluster();
  const kube = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  const backends = [await backend('stable'), await backend('canary')];
  let cp: ControlPlaneProcess | undefined;
  let clients: RawAdsClient[] = [];
  const closeClients = () => {
    for (const c of clients) c.close();
    clients = [];
  };
  try {
    await installCrds(kube);
    await kube.create(namespace(NS));
    await kube.create(service(NS, 'app'));
    await kube.create(service(NS, 'app-stable'));
    await kube.create(service(NS, 'app-canary'));
    await kube.create(slice(NS, 'app', ['127.0.0.1'], backends[0]!.port));
    await kube.create(slice(NS, 'app-stable', ['127.0.0.1'], backends[0]!.port));
    await kube.create(slice(NS, 'app-canary', ['127.0.0.1'], backends[1]!.port));
    await kube.create(split(NS, 'app', 'app-stable', 'app-canary'));

    cp = ControlPlaneProcess.start(cluster.kubeconfigPath);
    const port = await cp.port;
    await cp.published;
    const address = `127.0.0.1:${port}`;
    figures.push(...memoryFigures('idle (4 Services, no client)', await cp.stats('memory')));

    if (small) {
      clients = await connect(address, 1, () => [APEX_LISTENER], 'one');
      const one = await rawRun(kube, cp, clients, changes);
      figures.push(...latencyFigures('1 raw client', 'route', one, changes));
      closeClients();

      const g = await grpcRun(kube, cp, port, dir, changes);
      figures.push(...latencyFigures('1 gRPC client', 'first reply from the new backend', g, changes));
      figures.push({
        name: `  calls that failed during the flips (of ${g.calls})`,
        value: g.failedCalls,
        unit: '',
      });

      clients = await connect(address, CLIENTS, () => [APEX_LISTENER], 'apex');
      const many = await rawRun(kube, cp, clients, changes);
      figures.push(...latencyFigures(`${CLIENTS} raw clients`, 'route', many, changes));
      figures.push(...memoryFigures(`4 Services, ${CLIENTS} clients`, await cp.stats('memory')));
      closeClients();
    }

    const t = performance.now();
    await populate(kube);
    if (!(await waitForServices(cp, SERVICES + 4)))
      throw new Error('the control plane never saw the 1,000 Services');
    figures.push({
      name: "create 1,000 Services (+ slices, policies, splits) → in the control plane's caches",
      value: Math.round(performance.now() - t),
      unit: 'ms',
    });

    figures.push(...memoryFigures('1,000 Services, no client', await cp.stats('memory')));

    // Proxyless gRPC clients: the apex and 4 other Services each.
    clients = await connect(
      address,
      CLIENTS,
      (i) => [
        APEX_LISTENER,
        ...[0, 1, 2, 3].map((k) => outboundListener(...bigService((i * 4 + k) % SERVICES), PORT)),
      ],
      'grpc',
    );
    const large = await rawRun(kube, cp, clients, changes);
    figures.push(
      ...latencyFigures(`1,000 Services, ${CLIENTS} raw clients × 5 Services`, 'route', large, changes),
    );
    const rebuild = await cp.stats('rebuild');
    figures.push({
      name: `full rebuild that changes nothing (1,000 Services, ${CLIENTS} clients)`,
      value: ms(rebuild.lastBuildMs),
      unit: 'ms',
    });
    figures.push(
      ...memoryFigures(
        `1,000 Services, ${CLIENTS} gRPC clients × 5 Services`,
        await cp.stats('memory'),
        true,
      ),
    );
    closeClients();

    // Envoy sidecars: everything of their flavor, connected in waves.
    const t1 = performance.now();
    for (let wave = 0; wave < CLIENTS / 50; wave++)
      clients.push(...(await connect(address, 50, () => '*', `envoy-${wave}`, 'envoy')));
    figures.push({
      name: `${CLIENTS} raw Envoy clients (wildcard), 50 at a time → all configured`,
      value: Math.round(performance.now() - t1),
      unit: 'ms',
    });
    figures.push(
      ...memoryFigures(`1,000 Services, ${CLIENTS} Envoy clients`, await cp.stats('memory'), true),
    );
    const envoy = await rawRun(kube, cp, clients, envoyChanges, ENVOY);
    figures.push(
      ...latencyFigures(`1,000 Services, ${CLIENTS} raw Envoy clients`, 'route', envoy, envoyChanges),
    );
  } finally {
    closeClients();
    await cp?.stop();
    for (const b of backends) b.server.forceShutdown();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}

async function waitForServices(cp: ControlPlaneProcess, n: number): Promise<boolean> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    if ((await cp.stats()).services >= n) return true;
    await sleep(100);
  }
  return false;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { printTable } = await import('./runtime.js');
  printTable('controlplane (bench/controlplane.ts)', await controlPlaneBench());
}
