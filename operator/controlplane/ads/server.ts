/**
 * The ADS server: `envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`,
 * state of the world, serving Listeners, RouteConfigurations, Clusters and ClusterLoadAssignments (and
 * any other type URL it is given) to Envoy sidecars and proxyless gRPC clients.
 *
 * ```ts
 * const ads = new AdsServer({ logger, registry, view: (node) => (typeUrl, name) => ... });
 * ads.publish(resources(snapshot));            // synchronous; pushes what changed
 * await ads.listen({ host: '0.0.0.0', port: 15010 });                       // plaintext
 * await ads.listen({ host: '0.0.0.0', port: 15012, tls: { certFile, keyFile, caFile } }); // mTLS
 * ```
 *
 * Protocol (https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol):
 * - The first request of a stream carries the node; later ones may not. Without it the stream ends
 *   with INVALID_ARGUMENT.
 * - Subscriptions, stale nonces, ACK and NACK: see `subscription.ts`.
 * - A response for a type carries every subscribed resource that exists and the node's view allows.
 *   Its `version_info` is the hash of exactly that content, so replicas agree and a proxy that
 *   reconnects with the version it has is sent nothing. Nonces count up per stream.
 * - A response is sent for the first request of each type (even empty: Envoy waits for its first
 *   LDS/CDS answer before it starts), and then whenever the content for that stream changes — after a
 *   `publish`, or after a change of subscription that changes what the stream should have. A newly
 *   requested name that does not exist changes nothing and gets no response: clients run a timer
 *   for that (gRPC and Envoy: 15 s, then "does not exist"), and the resource is pushed the moment it
 *   is published.
 * - A NACK is recorded (`streams()`), logged at warn, counted and reported once (`onNack`); the same
 *   content is not sent again on that stream, only new content (one exception: the endpoints that
 *   follow a Cluster update, see `push`).
 * - `publish` hashes each resource once and encodes only the changed ones; per stream it only looks
 *   at the changed names its subscription covers, then compares versions. Pushes go out clusters and
 *   endpoints first, listeners and routes last (make before break). A stream whose client reads
 *   slowly gets only the latest state once it drains, never a backlog.
 *
 * Listeners: plaintext, or mTLS (the control plane's certificate, a client certificate signed by the
 * CA required, all three files reloaded while serving: `tls.ts`). Over mTLS the client certificate's
 * SPIFFE ID must agree with the node's `NAMESPACE` (and `SERVICE_ACCOUNT`) metadata, else the stream
 * ends with PERMISSION_DENIED. The plaintext listener exists because `@grpc/grpc-js-xds` (1.14) only
 * dials its xDS server with `insecure` or `google_default` channel credentials
 * (`SUPPORTED_CHANNEL_CREDS_TYPES` in its `xds-bootstrap.js`): proxyless gRPC clients cannot present a
 * certificate to the control plane.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../runtime/log.js';
import { hostPort } from '../xds/names.js';
import { TYPE } from '../xds/protos.js';
import { nodeInfo, refusal, spiffeIdOf, type NodeInfo } from './identity.js';
import { adsMetrics, type AdsMetrics } from './metrics.js';
import {
  adsServiceDefinition,
  encodeResponse,
  pushOrder,
  typeLabel,
  type DiscoveryRequest,
} from './protocol.js';
import { ResourceStore, type XdsResources } from './store.js';
import {
  affected,
  applyRequest,
  describeSubscription,
  desired,
  newTypeState,
  type TypeState,
} from './subscription.js';
import { mtlsCredentials, ReloadingCertificateProvider, type TlsFiles } from './tls.js';

export type { NodeInfo } from './identity.js';
export type { XdsResources } from './store.js';
export type { TlsFiles } from './tls.js';

export interface NackEvent {
  node: NodeInfo;
  typeUrl: string;
  /** The version NACKed. */
  version: string;
  nonce: string;
  /** error_detail.message */
  message: string;
}

export interface AckEvent {
  node: NodeInfo;
  typeUrl: string;
  version: string;
}

export interface AdsServerOptions {
  logger?: Logger;
  /** Where the metrics go (see `metrics.ts`); none when absent. */
  registry?: Registry;
  /** What one node may see (per-node snapshot); default: everything. Called once per stream. */
  view?: (node: NodeInfo) => (typeUrl: string, name: string) => boolean;
  /** Once per NACKed (node, type, nonce). */
  onNack?: (event: NackEvent) => void;
  /** Once per ACKed (node, type, nonce); also when a client reconnects with the version it should have. */
  onAck?: (event: AckEvent) => void;
  /** Over mTLS, also require the client certificate's trust domain to be this one. */
  trustDomain?: string;
  /** How often the TLS files are read again (default 60 s). */
  tlsRefreshIntervalMs?: number;
  /** How long `stop()` lets connections close before cutting them (default 5 s). */
  shutdownGraceMs?: number;
  clock?: Clock;
  /** grpc-js server options (keepalive: a ping every 30 s, 10 s to answer, unless set here). */
  grpcOptions?: grpc.ServerOptions;
}

export interface PublishOptions {
  /**
   * The `view` of some node changed without any resource changing (e.g. a namespace was relabelled):
   * ask every stream's view again and push wherever the result differs. Costs a full comparison per
   * stream, so only when needed.
   */
  viewsChanged?: boolean;
}

export interface TypeStatus {
  /** Version of the last response sent. */
  sent?: string;
  /** Version the proxy last ACKed. */
  acked?: string;
  /** error_detail.message of the last NACK, until a later response is ACKed. */
  nack?: string;
  /** The subscription: resource names, or `*` for everything. */
  names: string[] | '*';
}

export interface StreamStatus {
  node: NodeInfo;
  types: Record<string, TypeStatus>;
}

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, Buffer>;
type Allowed = (typeUrl: string, name: string) => boolean;

const ALLOW_ALL: Allowed = () => true;
const DENY_ALL: Allowed = () => false;

class AdsStream {
  node: NodeInfo | undefined;
  allowed: Allowed = DENY_ALL;
  readonly types = new Map<string, TypeState>();
  closed = false;
  /** Writes wait for the client to read; pushes meanwhile are coalesced here. */
  blocked = false;
  readonly pending = new Set<string>();
  /** Types to send even when their content did not change (see `push`). */
  readonly forced = new Set<string>();
  private nonces = 0;

  constructor(
    readonly id: number,
    readonly call: AdsCall,
    readonly tls: boolean,
    readonly openedAt: number,
  ) {}

  nextNonce(): string {
    this.nonces += 1;
    return String(this.nonces);
  }
}

interface Listener {
  server: grpc.Server;
  provider?: ReloadingCertificateProvider;
}

export class AdsServer {
  private readonly store = new ResourceStore();
  private readonly active = new Set<AdsStream>();
  private readonly listeners: Listener[] = [];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly metrics: AdsMetrics | undefined;
  private nextStreamId = 1;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: AdsServerOptions = {}) {
    this.log = options.logger ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.metrics = options.registry ? adsMetrics(options.registry) : undefined;
  }

  /**
   * Serves this resource set from now on (a type left out has no resources). Synchronous: diffs per
   * resource by content and pushes, on every open stream, each subscribed type whose content for that
   * stream changed. Returns the version of the whole set. Throws, changing nothing, on a resource
   * without a name, a name given twice in a type, or a resource the Envoy protos cannot encode.
   */
  publish(resources: XdsResources, options: PublishOptions = {}): string {
    const started = performance.now();
    const { version, changed } = this.store.publish(resources);
    if (options.viewsChanged) {
      for (const stream of this.active) {
        if (stream.node === undefined) continue;
        stream.allowed = this.viewOf(stream.node);
        for (const typeUrl of [...stream.types.keys()].sort(pushOrder))
          this.push(stream, stream.types.get(typeUrl)!);
      }
    } else if (changed.size > 0) {
      const types = [...changed.keys()].sort(pushOrder);
      for (const stream of this.active) {
        if (stream.node === undefined) continue;
        for (const typeUrl of types) {
          const state = stream.types.get(typeUrl);
          if (state?.sent === undefined) continue;
          if (affected(state.subscription, changed.get(typeUrl)!, (name) => stream.allowed(typeUrl, name))) {
            this.push(stream, state);
          }
        }
      }
    }
    this.metrics?.pushDuration.observe((performance.now() - started) / 1000);
    return version;
  }

  /**
   * Binds `host:port` (port 0: any free port) and resolves the bound port. Without `tls`: plaintext.
   * With `tls`: mTLS (see the module comment); rejects at once when the files are missing or do not
   * form a usable TLS context.
   */
  async listen(options: { host: string; port: number; tls?: TlsFiles }): Promise<number> {
    if (this.stopping) throw new Error('the ADS server is stopped; create a new one');
    const tls = options.tls !== undefined;
    const server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      ...this.options.grpcOptions,
    });
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: AdsCall) => this.handleCall(call, tls),
    });
    let provider: ReloadingCertificateProvider | undefined;
    let credentials = grpc.ServerCredentials.createInsecure();
    if (options.tls) {
      provider = new ReloadingCertificateProvider(options.tls, {
        refreshIntervalMs: this.options.tlsRefreshIntervalMs ?? 60_000,
        clock: this.clock,
        log: this.log,
      });
      await provider.load();
      credentials = mtlsCredentials(provider);
    }
    const address = hostPort(options.host, options.port);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (err, bound) =>
        err
          ? reject(new Error(`the ADS server cannot listen on ${address}: ${err.message}`))
          : resolve(bound),
      ),
    ).catch((e: unknown) => {
      provider?.close();
      server.forceShutdown();
      throw e;
    });
    if (this.stopping) {
      provider?.close();
      server.forceShutdown();
      throw new Error('the ADS server was stopped while it started listening');
    }
    this.listeners.push({ server, ...(provider ? { provider } : {}) });
    // The provider hands the certificates to the new socket on the next tick; serve after that.
    if (provider) await new Promise((resolve) => setImmediate(resolve));
    this.log.info({ address: hostPort(options.host, port), tls }, 'ADS server listening');
    return port;
  }

  /** Ends every stream (UNAVAILABLE: clients reconnect elsewhere) and closes the listeners. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Connected streams: node, and per type the version sent and ACKed, the last NACK, the subscription. */
  streams(): StreamStatus[] {
    const out: StreamStatus[] = [];
    for (const stream of this.active) {
      if (stream.node === undefined || stream.closed) continue;
      const types: Record<string, TypeStatus> = {};
      for (const [typeUrl, state] of stream.types) {
        types[typeUrl] = {
          ...(state.sent !== undefined ? { sent: state.sent.version } : {}),
          ...(state.acked !== undefined ? { acked: state.acked } : {}),
          ...(state.nack !== undefined ? { nack: state.nack.message } : {}),
          names: describeSubscription(state.subscription),
        };
      }
      out.push({ node: stream.node, types });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    for (const stream of [...this.active]) {
      this.finish(stream, 'the control plane is shutting down', {
        code: grpc.status.UNAVAILABLE,
        details: 'the control plane is shutting down',
      });
    }
    const grace = this.options.shutdownGraceMs ?? 5_000;
    await Promise.all(
      this.listeners.map(
        ({ server, provider }) =>
          new Promise<void>((resolve) => {
            const done = () => {
              this.clock.clearTimeout(timer);
              provider?.close();
              resolve();
            };
            const timer = this.clock.setTimeout(() => {
              server.forceShutdown();
              done();
            }, grace);
            server.tryShutdown(done);
          }),
      ),
    );
  }

  private handleCall(call: AdsCall, tls: boolean): void {
    const stream = new AdsStream(this.nextStreamId++, call, tls, this.clock.now());
    if (this.stopping) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'the control plane is shutting down' });
      return;
    }
    this.active.add(stream);
    this.metrics?.streams.inc();
    call.on('data', (request: DiscoveryRequest) => {
      try {
        this.onRequest(stream, request);
      } catch (e) {
        this.log.error({ stream: stream.id, err: e }, 'xDS request handling failed');
        this.finish(stream, `internal error: ${(e as Error).message}`, {
          code: grpc.status.INTERNAL,
          details: `the control plane failed to handle the request: ${(e as Error).message}`,
        });
      }
    });
    call.on('end', () =>
      this.finish(stream, 'the client closed the stream', { code: grpc.status.OK, details: 'OK' }),
    );
    call.on('cancelled', () => this.finish(stream, 'cancelled by the client'));
    call.on('error', (e: Error) => this.finish(stream, `stream error: ${e.message}`));
    call.on('close', () => this.finish(stream, 'closed'));
    call.on('drain', () => this.drained(stream));
  }

  /** Forgets a stream, once; with `status`, ends the call with it. */
  private finish(stream: AdsStream, reason: string, status?: { code: grpc.status; details: string }): void {
    if (stream.closed) return;
    stream.closed = true;
    this.active.delete(stream);
    this.metrics?.streams.dec();
    if (stream.node !== undefined) {
      this.log.info(
        { stream: stream.id, node: stream.node.id, reason, durationMs: this.clock.now() - stream.openedAt },
        'xDS stream closed',
      );
    }
    if (status === undefined || stream.call.destroyed) return;
    if (status.code === grpc.status.OK) stream.call.end();
    else stream.call.emit('error', status);
  }

  private refuse(stream: AdsStream, code: grpc.status, details: string): void {
    this.log.warn({ stream: stream.id, peer: stream.call.getPeer(), reason: details }, 'xDS stream refused');
    this.finish(stream, details, { code, details });
  }

  /** The first request: who the node is, whether its certificate backs that, what it may see. */
  private open(stream: AdsStream, request: DiscoveryRequest): boolean {
    if (request.node == null) {
      this.refuse(
        stream,
        grpc.status.INVALID_ARGUMENT,
        'the first DiscoveryRequest of a stream must carry the node (envoy.config.core.v3.Node)',
      );
      return false;
    }
    let identity: string | undefined;
    if (stream.tls) {
      const found = spiffeIdOf(stream.call.getAuthContext().sslPeerCertificate);
      if ('error' in found) {
        this.refuse(stream, grpc.status.PERMISSION_DENIED, found.error);
        return false;
      }
      identity = found.id;
    }
    const node = nodeInfo(request.node, identity);
    if (identity !== undefined) {
      const why = refusal(node, identity, this.options.trustDomain);
      if (why !== undefined) {
        this.refuse(stream, grpc.status.PERMISSION_DENIED, why);
        return false;
      }
    }
    stream.node = node;
    stream.allowed = this.viewOf(node);
    this.log.info(
      {
        stream: stream.id,
        node: node.id,
        peer: stream.call.getPeer(),
        ...(identity !== undefined ? { identity } : {}),
        ...(node.userAgent !== undefined ? { userAgent: node.userAgent } : {}),
      },
      'xDS stream opened',
    );
    return true;
  }

  private viewOf(node: NodeInfo): Allowed {
    const view = this.options.view;
    if (view === undefined) return ALLOW_ALL;
    let predicate: Allowed;
    try {
      predicate = view(node);
    } catch (e) {
      this.log.error({ node: node.id, err: e }, 'the view of a node failed; it is served nothing');
      return DENY_ALL;
    }
    return (typeUrl, name) => {
      try {
        return predicate(typeUrl, name);
      } catch (e) {
        this.log.error(
          { node: node.id, typeUrl, name, err: e },
          'the view of a node failed; the resource is hidden',
        );
        return false;
      }
    };
  }

  private onRequest(stream: AdsStream, request: DiscoveryRequest): void {
    if (stream.closed) return;
    if (stream.node === undefined && !this.open(stream, request)) return;
    const node = stream.node!;
    const typeUrl = request.type_url ?? '';
    if (typeUrl === '') {
      this.refuse(
        stream,
        grpc.status.INVALID_ARGUMENT,
        'a DiscoveryRequest on an ADS stream must give its type_url',
      );
      return;
    }
    let state = stream.types.get(typeUrl);
    if (state === undefined) {
      state = newTypeState(typeUrl);
      stream.types.set(typeUrl, state);
    }
    const { what } = applyRequest(state, request);
    switch (what.kind) {
      case 'stale':
        this.log.debug(
          { stream: stream.id, node: node.id, type: typeLabel(typeUrl), nonce: request.response_nonce },
          'stale xDS request ignored',
        );
        return;
      case 'nack':
        if (what.first) this.nacked(stream, typeUrl, what.version, request.response_nonce!, what.message);
        break;
      case 'ack':
        if (what.first) this.acked(stream, typeUrl, what.version);
        break;
      case 'subscribe':
        break;
    }
    if (state.sent === undefined && request.version_info) {
      // A reconnecting client announces the version it has; if that is what it would get, it has it.
      const current = desired(state.subscription, this.store.entries(typeUrl), (n) =>
        stream.allowed(typeUrl, n),
      );
      if (current.version === request.version_info) {
        state.sent = { version: current.version, nonce: '' };
        state.acked = current.version;
        this.acked(stream, typeUrl, current.version);
        return;
      }
    }
    this.push(stream, state);
  }

  /**
   * Sends the stream what it should have of `state`'s type, unless it has been sent already (or
   * `force`). After Clusters, the stream's ClusterLoadAssignments follow even when unchanged: Envoy
   * finishes warming an updated Cluster only when it receives its assignment again, and would
   * otherwise wait for its `initial_fetch_timeout` (15 s) — the protocol's Envoy note under
   * "Resource warming". It is the one case where the same content is sent twice.
   */
  private push(stream: AdsStream, state: TypeState, force = false): void {
    if (stream.closed) return;
    const typeUrl = state.typeUrl;
    if (stream.blocked) {
      stream.pending.add(typeUrl);
      if (force) stream.forced.add(typeUrl);
      return;
    }
    const next = desired(state.subscription, this.store.entries(typeUrl), (n) => stream.allowed(typeUrl, n));
    const forced = stream.forced.delete(typeUrl) || force;
    if (!forced && state.sent?.version === next.version) return;
    const nonce = stream.nextNonce();
    state.sent = { version: next.version, nonce };
    const bytes = encodeResponse(
      { version_info: next.version, type_url: typeUrl, nonce },
      next.entries.map((e) => e.chunk),
    );
    this.metrics?.pushes.inc({ type: typeLabel(typeUrl) });
    this.log.debug(
      {
        stream: stream.id,
        node: stream.node?.id,
        type: typeLabel(typeUrl),
        version: next.version,
        nonce,
        resources: next.entries.length,
      },
      'xDS response sent',
    );
    if (!stream.call.write(bytes)) stream.blocked = true;
    if (typeUrl === TYPE.cluster) {
      const endpoints = stream.types.get(TYPE.clusterLoadAssignment);
      if (endpoints?.sent !== undefined && endpoints.subscription.sorted.length > 0)
        this.push(stream, endpoints, true);
    }
  }

  private drained(stream: AdsStream): void {
    stream.blocked = false;
    const pending = [...stream.pending].sort(pushOrder);
    stream.pending.clear();
    for (const typeUrl of pending) this.push(stream, stream.types.get(typeUrl)!);
  }

  private acked(stream: AdsStream, typeUrl: string, version: string): void {
    this.log.debug(
      { stream: stream.id, node: stream.node!.id, type: typeLabel(typeUrl), version },
      'xDS ACK',
    );
    const onAck = this.options.onAck;
    if (onAck === undefined) return;
    try {
      onAck({ node: stream.node!, typeUrl, version });
    } catch (e) {
      this.log.error({ err: e }, 'onAck failed');
    }
  }

  private nacked(stream: AdsStream, typeUrl: string, version: string, nonce: string, message: string): void {
    this.metrics?.nacks.inc({ type: typeLabel(typeUrl) });
    this.log.warn(
      { stream: stream.id, node: stream.node!.id, type: typeLabel(typeUrl), version, nonce, error: message },
      'xDS response NACKed',
    );
    const onNack = this.options.onNack;
    if (onNack === undefined) return;
    try {
      onNack({ node: stream.node!, typeUrl, version, nonce, message });
    } catch (e) {
      this.log.error({ err: e }, 'onNack failed');
    }
  }
}
