/**
 * From the cluster to the proxies: informers on the objects the xDS builders read, a debounced
 * rebuild of the snapshot, and the resources handed to whoever serves them (the ADS server's
 * `publish`).
 *
 *   Services, EndpointSlices, Namespaces,      ─ events ─▶ debounce ─▶ snapshot of the caches
 *   ServicePolicies, TrafficSplits (informers)             (Clock)      → resources(snapshot)
 *   mesh settings (getter, `meshChanged()`)                             → onResources(resources)
 *
 * - **Nothing is built before every informer has synced**: a partial list (Services without their
 *   EndpointSlices) would push configurations that send clients nowhere. The first build follows the
 *   sync at once.
 * - **Debounce**: a change starts a quiet period (10 ms); every further change restarts it, but the
 *   build never waits more than `maxDelayMs` (100 ms) after the first pending change. A burst (a
 *   rollout moving fifty EndpointSlices) becomes one build; a steady stream still publishes every
 *   100 ms. Building is synchronous and whole, so there is never more than one build at a time and no
 *   partial state; it is incremental (xds/incremental.ts): a Service whose inputs are the same
 *   cached objects as last time keeps its resources, so a change costs about what it touches.
 * - **Memory**: each informer's `transform` keeps only the fields the builders read (a Service's
 *   ports and selector, an EndpointSlice's addresses, conditions and ports, a policy's parsed spec,
 *   a split's backends and weights), so the caches hold a small fraction of what the API returns.
 *   (Informers are shared per resource and selector: when another component created one first,
 *   with its own transform, the model trims each cached object once itself — `view`.) Events that change none of the kept fields (status writes, annotations, resyncs) schedule
 *   nothing.
 * - **Bad input**: a ServicePolicy whose spec zod refuses (the CRD schema lets through what only zod
 *   checks) keeps its last valid spec in force, as the operator keeps its last NetworkPolicy; it is
 *   logged, never served half-understood. Status weights that do not add up to 100 are ignored (the
 *   route then sends everything to stable, as before a TrafficSplit has a status).
 */
import { isDeepStrictEqual } from 'node:util';
import { servicePolicySpec, type ServicePolicySpec } from '../api/index.js';
import type { KubeObject, ResourceType } from '../runtime/client.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import type { Informer, InformerEvent, SharedInformers } from '../runtime/informer.js';
import { silentLogger, type Logger } from '../runtime/log.js';
import { EndpointSlices, Namespaces, Services } from '../runtime/resources.js';
import { SERVED_GENERATION_ANNOTATION } from '../servicepolicy/names.js';
import { ServicePolicies } from '../servicepolicy/reconciler.js';
import { TrafficSplits } from '../trafficsplit/reconciler.js';
import { IncrementalResources } from './xds/incremental.js';
import type { resources } from './xds/resources.js';
import {
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type MeshSettings,
  type Namespace,
  type Service,
  type ServicePolicy,
  type Snapshot,
  type TrafficSplit,
} from './xds/snapshot.js';

/** The key `servedGenerations` uses for a policy: `namespace/name`, as informers and work queues key it. */
export const policyKey = (policy: { metadata: { namespace: string; name: string } }): string =>
  `${policy.metadata.namespace}/${policy.metadata.name}`;

/** What one build produces: resources by type URL (what `AdsServer.publish` takes). */
export type BuiltResources = ReturnType<typeof resources>;

export interface XdsModelOptions {
  /** Where the informers come from; the caller starts and stops them. */
  informers: SharedInformers;
  /** The mesh settings in force, read at every build; call `meshChanged()` when they change. */
  mesh: () => MeshSettings;
  /** The cluster DNS domain of Service host names (`cluster.local` by default). */
  clusterDomain?: string;
  /** Called after every build with the whole resource set (synchronously, from the build). */
  onResources: (resources: BuiltResources, snapshot: Snapshot) => void;
  /** Watch only this namespace (tests); default all. Namespaces are always watched cluster-wide. */
  namespace?: string;
  /** Quiet period after the last change before building. Default 10 ms. */
  quietMs?: number;
  /** Longest wait between the first pending change and the build. Default 100 ms. */
  maxDelayMs?: number;
  clock?: Clock;
  logger?: Logger;
}

/** A cached object: the snapshot's shape, plus what the informer itself needs (`resourceVersion`). */
type Cached<T> = T & KubeObject & { metadata: { resourceVersion?: string } };

/** A ServicePolicy as cached: the parsed spec (defaults applied), or why it could not be parsed. */
type CachedPolicy = Cached<Omit<ServicePolicy, 'spec'>> & {
  metadata: { generation?: number };
  spec?: ServicePolicySpec;
  invalid?: string;
};

export interface BuildStats {
  /** Builds run (each published once). */
  total: number;
  /** Builds that threw (nothing published; the previous resources stay in force). */
  failed: number;
  /** Changes (events and `meshChanged` calls) that led to a build; `changes / total` is the coalescing. */
  changes: number;
}

export class XdsModel {
  readonly builds: BuildStats = { total: 0, failed: 0, changes: 0 };
  /** How long the last build took (snapshot, builders and `onResources`), in ms of the clock. */
  lastBuildMs = 0;
  /** From the first change it included to its end: how late the last build was, in ms. */
  lastBuildDelayMs = 0;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly services: Source<Cached<Service>>;
  private readonly slices: Source<Cached<EndpointSlice>>;
  private readonly namespaces: Source<Cached<Namespace>>;
  private readonly policies: Source<CachedPolicy>;
  private readonly splits: Source<Cached<TrafficSplit>>;
  /** Trimmed views of objects a shared informer cached untrimmed (see `view`). */
  private readonly views = new WeakMap<object, object>();
  /**
   * The snapshot's object for each cached valid policy: the same object while the cached one stays,
   * so the incremental builder sees it unchanged.
   */
  private readonly policyViews = new WeakMap<
    CachedPolicy,
    ServicePolicy & { metadata: { generation?: number } }
  >();
  /** `resources()`, paying only for the Services whose inputs changed (xds/incremental.ts). */
  private readonly builder: IncrementalResources;
  private readonly unsubscribe: (() => void)[] = [];
  private synced = false;
  private stopped = false;
  private pending = 0;
  private firstPendingAt: number | undefined;
  private lastChangeAt = 0;
  private timer: unknown;
  /** The policies of the last build, by key: what an invalid update falls back to. */
  private served = new Map<string, ServicePolicy & { metadata: { generation?: number } }>();

  constructor(private readonly options: XdsModelOptions) {
    this.clock = options.clock ?? systemClock;
    this.log = (options.logger ?? silentLogger()).child({ component: 'xds-model' });
    this.quietMs = options.quietMs ?? 10;
    this.maxDelayMs = options.maxDelayMs ?? 100;
    this.builder = new IncrementalResources({ clusterDomain: options.clusterDomain });
    const scope = options.namespace !== undefined ? { namespace: options.namespace } : {};
    const source = <T extends object>(type: ResourceType, trim: (raw: Raw) => T, namespaced = true) => ({
      informer: options.informers.informer(type, {
        ...(namespaced ? scope : {}),
        transform: (raw: KubeObject) => trim(raw) as KubeObject,
      }),
      trim,
    });
    this.services = source(Services, trimService);
    this.slices = source(EndpointSlices, trimEndpointSlice);
    this.namespaces = source(Namespaces, trimNamespace, false);
    this.policies = source(ServicePolicies, (raw) => trimPolicy(raw, this.log));
    this.splits = source(TrafficSplits, (raw) => trimTrafficSplit(raw, this.log));
    for (const src of this.all()) this.unsubscribe.push(src.informer.onEvent((ev) => this.onEvent(ev, src)));
  }

  /** Waits for the informers to sync, then builds once; later changes rebuild (debounced). */
  async start(): Promise<void> {
    const synced = await Promise.all(this.all().map((src) => src.informer.waitForSync()));
    if (this.stopped || !synced.every(Boolean)) return;
    this.synced = true;
    this.build();
  }

  /** Stops building (the informers are the caller's to stop). */
  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The mesh settings changed: rebuild (debounced like any change). */
  meshChanged(): void {
    this.changed();
  }

  /** `namespace/name` → `metadata.generation` of every ServicePolicy in the last build's snapshot. */
  servedGenerations(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, policy] of this.served) {
      if (policy.metadata.generation !== undefined) out.set(key, policy.metadata.generation);
    }
    return out;
  }

  /** The snapshot of the caches as they are now. */
  snapshot(): Snapshot {
    const policies: (ServicePolicy & { metadata: { generation?: number } })[] = [];
    for (const cached of this.list(this.policies)) {
      if (cached.spec !== undefined) {
        let policy = this.policyViews.get(cached);
        if (policy === undefined) {
          policy = { ...cached, spec: cached.spec };
          this.policyViews.set(cached, policy);
        }
        policies.push(policy);
      } else {
        const previous = this.served.get(policyKey(cached));
        if (previous !== undefined) policies.push(previous);
      }
    }
    return {
      services: this.list(this.services),
      endpointSlices: this.list(this.slices),
      namespaces: this.list(this.namespaces),
      servicePolicies: policies,
      trafficSplits: this.list(this.splits),
      mesh: this.options.mesh(),
    };
  }

  private all(): Source<object>[] {
    return [this.services, this.slices, this.namespaces, this.policies, this.splits];
  }

  private list<T extends object>(src: Source<T>): T[] {
    return src.informer.list().map((o) => this.view(o, src));
  }

  /**
   * An object as the builders read it. Informers are shared per resource and selector, with the
   * transform of whoever asked first: when that was not this model (a controller in the same
   * process that needs annotations, say), the cache holds whole objects, and they are trimmed here
   * once each (the view lives as long as the cached object).
   */
  private view<T extends object>(obj: KubeObject, src: Source<T>): T {
    if (TRIMMED.has(obj)) return obj as T;
    let view = this.views.get(obj) as T | undefined;
    if (view === undefined) {
      view = src.trim(obj);
      this.views.set(obj, view);
    }
    return view;
  }

  private onEvent(ev: InformerEvent<KubeObject>, src: Source<object>): void {
    // Resyncs (old === new) and updates of fields the builders do not read change nothing we build.
    if (
      ev.type === 'update' &&
      ev.old !== undefined &&
      sameContent(this.view(ev.old, src), this.view(ev.object, src))
    )
      return;
    this.changed();
  }

  private changed(): void {
    if (this.stopped) return;
    this.pending++;
    // Before the sync, the first build (right after it) takes every change in.
    if (!this.synced) return;
    const now = this.clock.now();
    this.lastChangeAt = now;
    if (this.firstPendingAt === undefined) {
      this.firstPendingAt = now;
      this.arm(this.quietMs);
    }
  }

  /** One timer per pending batch: when it fires early (more changes came), it re-arms for the rest. */
  private arm(ms: number): void {
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.stopped || this.firstPendingAt === undefined) return;
      const due = Math.min(this.lastChangeAt + this.quietMs, this.firstPendingAt + this.maxDelayMs);
      const wait = due - this.clock.now();
      if (wait > 0) this.arm(wait);
      else this.build();
    }, ms);
  }

  private build(): void {
    const started = this.clock.now();
    const firstChange = this.firstPendingAt ?? started;
    this.builds.changes += this.pending;
    this.pending = 0;
    this.firstPendingAt = undefined;
    try {
      const snapshot = this.snapshot();
      const built = this.builder.build(snapshot);
      this.options.onResources(built, snapshot);
      // Only once published: `servedGenerations` is what the proxies can have.
      this.served = new Map(snapshot.servicePolicies.map((p) => [policyKey(p), p]));
      this.builds.total++;
      const ended = this.clock.now();
      this.lastBuildMs = ended - started;
      this.lastBuildDelayMs = ended - firstChange;
      this.log.debug(
        {
          buildMs: this.lastBuildMs,
          delayMs: this.lastBuildDelayMs,
          services: snapshot.services.length,
          endpointSlices: snapshot.endpointSlices.length,
          servicePolicies: snapshot.servicePolicies.length,
          trafficSplits: snapshot.trafficSplits.length,
        },
        'xDS resources built',
      );
    } catch (e) {
      // A builder bug must not take the control plane down: the proxies keep what they have.
      this.builds.failed++;
      this.log.error({ err: e }, 'building xDS resources failed; the previous resources stay in force');
    }
  }
}

/** An informer and the trim the builders need of its objects. */
interface Source<T extends object> {
  informer: Informer<KubeObject>;
  trim: (raw: Raw) => T;
}

// ---------------------------------------------------------------------------------------------
// What the caches keep: the fields the builders read (see snapshot.ts), and `resourceVersion`,
// which the informer compares to skip replays.

type Raw = KubeObject & { spec?: unknown; status?: unknown };

/** Every object a trim below returned: what needs no trimming again. */
const TRIMMED = new WeakSet<object>();
const trimmed = <T extends object>(o: T): T => {
  TRIMMED.add(o);
  return o;
};

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function meta(raw: KubeObject, extra: { labels?: boolean; generation?: boolean; age?: boolean } = {}) {
  const m = raw.metadata ?? {};
  return defined({
    name: m.name ?? '',
    namespace: m.namespace ?? '',
    resourceVersion: m.resourceVersion,
    labels: extra.labels ? m.labels : undefined,
    generation: extra.generation ? m.generation : undefined,
    creationTimestamp: extra.age ? m.creationTimestamp : undefined,
    deletionTimestamp: extra.age ? m.deletionTimestamp : undefined,
  });
}

export function trimService(raw: Raw): Cached<Service> {
  const spec = record(raw.spec);
  const selector = record(spec.selector) as Record<string, string>;
  return trimmed({
    metadata: meta(raw),
    spec: defined({
      type: str(spec.type),
      clusterIP: str(spec.clusterIP),
      selector: Object.keys(selector).length > 0 ? selector : undefined,
      ports: arr(spec.ports).flatMap((p) => {
        const port = record(p);
        const number = num(port.port);
        if (number === undefined) return [];
        const target = port.targetPort;
        return [
          defined({
            name: str(port.name),
            port: number,
            targetPort: typeof target === 'number' || typeof target === 'string' ? target : undefined,
            protocol: str(port.protocol),
            appProtocol: str(port.appProtocol),
          }),
        ];
      }),
    }),
  });
}

export function trimEndpointSlice(raw: Raw): Cached<EndpointSlice> {
  const m = meta(raw);
  const service = raw.metadata?.labels?.[SERVICE_NAME_LABEL];
  const o = raw as Record<string, unknown>;
  return trimmed(
    defined({
      metadata: { ...m, ...(service !== undefined ? { labels: { [SERVICE_NAME_LABEL]: service } } : {}) },
      addressType: str(o.addressType),
      endpoints: arr(o.endpoints).map((e) => {
        const endpoint = record(e);
        const conditions = record(endpoint.conditions);
        const ready = conditions.ready;
        return defined({
          addresses: arr(endpoint.addresses).filter((a): a is string => typeof a === 'string'),
          conditions: typeof ready === 'boolean' ? { ready } : undefined,
          zone: str(endpoint.zone),
        });
      }),
      ports: arr(o.ports).map((p) => {
        const port = record(p);
        return defined({ name: str(port.name), port: num(port.port), protocol: str(port.protocol) });
      }),
    }),
  );
}

export function trimNamespace(raw: Raw): Cached<Namespace> {
  const m = raw.metadata ?? {};
  return trimmed({
    metadata: defined({ name: m.name ?? '', resourceVersion: m.resourceVersion, labels: m.labels }),
  });
}

export function trimPolicy(raw: Raw, log: Logger = silentLogger()): CachedPolicy {
  const served = raw.metadata?.annotations?.[SERVED_GENERATION_ANNOTATION];
  // The served generation stays for the control plane's reporter (served.ts), which reads this cache.
  const metadata = {
    ...meta(raw, { generation: true, age: true }),
    ...(served !== undefined ? { annotations: { [SERVED_GENERATION_ANNOTATION]: served } } : {}),
  };
  const parsed = servicePolicySpec.safeParse(raw.spec);
  if (parsed.success) return trimmed({ metadata, spec: parsed.data });
  const invalid = parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ');
  log.warn(
    { namespace: metadata.namespace, name: metadata.name, generation: metadata.generation, invalid },
    'ServicePolicy refused: its last valid spec stays in force',
  );
  return trimmed({ metadata, invalid });
}

export function trimTrafficSplit(raw: Raw, log: Logger = silentLogger()): Cached<TrafficSplit> {
  const metadata = meta(raw);
  const spec = record(raw.spec);
  const backends = record(spec.backends);
  const name = (ref: unknown) => ({ name: str(record(ref).name) ?? '' });
  const weights = record(record(raw.status).weights);
  const stable = num(weights.stable);
  const canary = num(weights.canary);
  const valid =
    Number.isInteger(stable) &&
    Number.isInteger(canary) &&
    stable! >= 0 &&
    canary! >= 0 &&
    stable! + canary! === 100;
  if (!valid && Object.keys(weights).length > 0)
    log.warn(
      { namespace: metadata.namespace, name: metadata.name, weights },
      'TrafficSplit status.weights ignored: two non-negative integers adding up to 100 are needed',
    );
  return trimmed({
    metadata,
    spec: {
      targetRef: name(spec.targetRef),
      backends: { stable: name(backends.stable), canary: name(backends.canary) },
    },
    ...(valid ? { status: { weights: { stable: stable!, canary: canary! } } } : {}),
  });
}

/** Equal but for `resourceVersion`: an update that changes nothing the builders read. */
function sameContent(a: object, b: object): boolean {
  if (a === b) return true;
  // annotations: only the served-generation one is kept, for the reporter; the builders ignore it
  const strip = (o: { metadata?: object }) => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined, annotations: undefined },
  });
  return isDeepStrictEqual(strip(a), strip(b));
}
