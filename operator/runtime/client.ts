/**
 * The runtime's Kubernetes client: the only module that touches `@kubernetes/client-node`'s API classes.
 * Everything else (informers, reconcilers, leader election, events) talks to the narrow `Kube`
 * interface below, so it can be tested against a recorder.
 *
 * - Every verb is a raw JSON request built with client-node's `RequestContext`, authenticated by the
 *   KubeConfig and sent through one HTTP library, so all share the timeout, rate limit and request
 *   counter. Plurals and scopes come from discovery, asked once per group/version.
 * - Not `KubernetesObjectApi`: it re-serialises built-in kinds through client-node's model classes,
 *   whose field names are not the wire names (`V1NetworkPolicyIngressRule` has `_from`): a plain
 *   NetworkPolicy sent through it silently loses `ingress[].from`, which admits every source.
 * - Every request has a timeout (`AbortSignal.timeout`, set by middleware merged with 'append').
 * - Non-2xx answers become `KubeApiError` (409s: `KubeConflictError`, a `ConflictError`) parsed from
 *   the v1.Status body; network failures and timeouts become `KubeUnavailableError`.
 */
import type { ResponseContext } from '@kubernetes/client-node';
import {
  ApiException,
  createConfiguration,
  HttpMethod,
  KubeConfig,
  PatchStrategy,
  RequestContext,
  wrapHttpLibrary,
} from '@kubernetes/client-node';
import { ConflictError } from './errors.js';

// ---------------------------------------------------------------- object types

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object, as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [k: string]: unknown;
}

/** A resource the runtime can list and watch: both its kind (for the object API) and its plural (for paths). */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

/** Enough to address one object. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface RawWatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  /** Resolves when the server ends the stream or the watch is aborted; rejects on a transport or HTTP error. */
  done: Promise<void>;
  abort(): void;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ApplyOptions {
  fieldManager?: string;
  force?: boolean;
}

/** The narrow client reconcilers and the runtime use. */
export interface Kube {
  get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T>;
  list<T extends KubeObject = KubeObject>(type: ResourceType, opts?: ListOptions): Promise<ListResult<T>>;
  create<T extends KubeObject>(obj: T): Promise<T>;
  replace<T extends KubeObject>(obj: T): Promise<T>;
  /** A 404 counts as success (returns false when the object was already gone). */
  delete(ref: ObjectRef, opts?: DeleteOptions): Promise<boolean>;
  /** Server-side apply (`application/apply-patch+yaml`), field manager `meshwright`, forced by default. */
  apply<T extends KubeObject>(obj: T, opts?: ApplyOptions): Promise<T>;
  mergePatch<T extends KubeObject = KubeObject>(ref: ObjectRef, patch: object): Promise<T>;
  /**
   * Merge patch on the status subresource; `resourceVersion` is a precondition (a stale one gives
   * `KubeConflictError`). Pass `undefined` explicitly to patch unconditionally.
   */
  patchStatus<T extends KubeObject = KubeObject>(
    ref: ObjectRef & { plural: string },
    status: unknown,
    opts: { resourceVersion: string | undefined },
  ): Promise<T>;
  watch<T extends KubeObject = KubeObject>(
    type: ResourceType,
    opts: WatchOptions,
    onEvent: (ev: RawWatchEvent<T>) => void,
  ): WatchHandle;
  /** Requests sent, by method and answer code ('<error>' for transport failures). */
  readonly requests: RequestCounter;
}

// ---------------------------------------------------------------- errors

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** What a v1.Status says, plus `Retry-After` when the server sent one. */
export interface KubeStatusFields {
  code: number;
  reason: string;
  causes: StatusCause[];
  retryAfterMs?: number;
}

export class KubeApiError extends Error implements KubeStatusFields {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    readonly causes: StatusCause[] = [],
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A 409 (Conflict or AlreadyExists): also a runtime `ConflictError`, so the controller retries it quietly. */
export class KubeConflictError extends ConflictError implements KubeStatusFields {
  override readonly name = 'KubeConflictError';
  readonly code = 409;
  constructor(
    message: string,
    readonly reason: string,
    readonly causes: StatusCause[] = [],
  ) {
    super(message);
  }
}

/** The API server could not be reached or did not answer in time. Always worth retrying. */
export class KubeUnavailableError extends Error {
  override readonly name = 'KubeUnavailableError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

const statusOf = (e: unknown): KubeStatusFields | undefined =>
  e instanceof KubeApiError || e instanceof KubeConflictError ? e : undefined;

export const isKubeApiError = (e: unknown): e is KubeStatusFields & Error => statusOf(e) !== undefined;
export const isNotFound = (e: unknown): boolean => statusOf(e)?.code === 404;
export const isConflict = (e: unknown): boolean => statusOf(e)?.reason === 'Conflict';
export const isAlreadyExists = (e: unknown): boolean => statusOf(e)?.reason === 'AlreadyExists';
export const isInvalid = (e: unknown): boolean => statusOf(e)?.code === 422;
export const isTooManyRequests = (e: unknown): boolean => statusOf(e)?.code === 429;
export const isServerTimeout = (e: unknown): boolean =>
  statusOf(e)?.reason === 'ServerTimeout' || statusOf(e)?.code === 504;
export const isUnavailable = (e: unknown): boolean => e instanceof KubeUnavailableError;
/** Errors a controller should retry with backoff rather than report as terminal. */
export const isTransient = (e: unknown): boolean =>
  isUnavailable(e) ||
  isTooManyRequests(e) ||
  isServerTimeout(e) ||
  isConflict(e) ||
  [500, 502, 503].includes(statusOf(e)?.code ?? 0);

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Record<string, unknown>;
  const v = h[name] ?? h[name.toLowerCase()];
  return typeof v === 'string' ? v : undefined;
}

/** Builds the typed error for an HTTP answer `code` whose body is (usually) a v1.Status. */
export function apiError(code: number, body: unknown, headers?: unknown): KubeApiError | KubeConflictError {
  let status: Record<string, unknown> = {};
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as Record<string, unknown>;
    } catch {
      status = { message: body };
    }
  } else if (body && typeof body === 'object') status = body as Record<string, unknown>;
  const reason =
    typeof status.reason === 'string' && status.reason ? status.reason : (REASONS[code] ?? 'Unknown');
  const message =
    typeof status.message === 'string' && status.message ? status.message : `HTTP ${code} (${reason})`;
  const details = status.details as { causes?: StatusCause[]; retryAfterSeconds?: number } | undefined;
  const causes = Array.isArray(details?.causes) ? details.causes : [];
  if (code === 409) return new KubeConflictError(message, reason, causes);
  const retryAfter = Number(header(headers, 'retry-after') ?? details?.retryAfterSeconds);
  const retryAfterMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined;
  return new KubeApiError(message, code, reason, causes, retryAfterMs);
}

/** Maps whatever a request threw to one of the typed errors above. */
export function toKubeError(e: unknown, what: string): Error {
  if (e instanceof KubeApiError || e instanceof KubeConflictError || e instanceof KubeUnavailableError)
    return e;
  if (e instanceof ApiException) return apiError(e.code, e.body, e.headers);
  const name = (e as { name?: string } | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError')
    return new KubeUnavailableError(`${what}: request timed out`, e);
  if (e instanceof TypeError || (e as { code?: string } | undefined)?.code?.startsWith?.('E'))
    return new KubeUnavailableError(`${what}: ${(e as Error).message}`, e);
  return e instanceof Error ? e : new Error(String(e));
}

// ---------------------------------------------------------------- request counter and token bucket

export class RequestCounter {
  private readonly counts = new Map<string, number>();
  private readonly listeners: ((method: string, code: string) => void)[] = [];

  record(method: string, code: string): void {
    const k = `${method} ${code}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    for (const l of this.listeners) l(method, code);
  }

  /** Requests with this method (and code, if given). */
  count(method?: string, code?: string): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      const [m, c] = k.split(' ');
      if ((!method || m === method) && (!code || c === code)) n += v;
    }
    return n;
  }

  /** Writes (POST, PUT, PATCH, DELETE) sent so far. */
  writes(): number {
    return ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((n, m) => n + this.count(m), 0);
  }

  entries(): [method: string, code: string, n: number][] {
    return [...this.counts].map(([k, v]) => {
      const [m, c] = k.split(' ');
      return [m!, c!, v];
    });
  }

  /** Called on every request (the metrics module counts `rest_client_requests_total` with it). */
  onRequest(fn: (method: string, code: string) => void): void {
    this.listeners.push(fn);
  }
}

/** A client-side token bucket (client-go's `--kube-api-qps` / `--kube-api-burst`). */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Resolves when a token is available (FIFO). */
  take(): Promise<void> {
    const next = this.chain.then(async () => {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens < 1) {
        const waitMs = ((1 - this.tokens) / this.qps) * 1000;
        await new Promise((r) => setTimeout(r, waitMs));
        this.tokens = 1;
        this.last = performance.now();
      }
      this.tokens -= 1;
    });
    this.chain = next;
    return next;
  }
}

// ---------------------------------------------------------------- the client

export interface CreateKubeOptions {
  kubeconfigPath?: string;
  kubeConfig?: KubeConfig;
  /** Per-request timeout (watches excluded: they end by `timeoutSeconds` and the informer's watchdog). */
  requestTimeoutMs?: number;
  /** Client-side rate limit; off unless `qps` is set. */
  qps?: number;
  burst?: number;
  userAgent?: string;
}

const pathOf = (type: { apiVersion: string; plural: string }, namespace?: string, name?: string): string =>
  [
    type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`,
    namespace ? `namespaces/${encodeURIComponent(namespace)}` : '',
    type.plural,
    name ? encodeURIComponent(name) : '',
  ]
    .filter(Boolean)
    .join('/');

/** Builds the API path of a resource (`/api/v1/namespaces/ns/configmaps[/name]`). */
export const resourcePath = pathOf;

export function createKube(options: CreateKubeOptions = {}): Kube {
  const kc = options.kubeConfig ?? new KubeConfig();
  if (!options.kubeConfig) {
    if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
    else kc.loadFromDefault();
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  // client-node refuses a plain-HTTP server unless the cluster says skipTLSVerify (there is no TLS to
  // verify). A kubeconfig that names an http:// server (the local cluster's) has chosen plain HTTP,
  // as kubectl honours it: mark it so, for that cluster entry only.
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify)
    kc.clusters = kc.clusters.map((c) => (c === cluster ? { ...c, skipTLSVerify: true } : c));
  const server = cluster.server.replace(/\/$/, '');
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const userAgent = options.userAgent ?? 'meshwright';
  const bucket = options.qps
    ? new TokenBucket(options.qps, options.burst ?? Math.ceil(options.qps * 2))
    : undefined;
  const requests = new RequestCounter();

  // One HTTP library for both paths: counts every request by method and answer code.
  const inner = createConfiguration().httpApi;
  const httpApi = wrapHttpLibrary({
    send: async (ctx: RequestContext): Promise<ResponseContext> => {
      const method = ctx.getHttpMethod().toString();
      try {
        const rsp = await inner.send(ctx).toPromise();
        requests.record(method, String(rsp.httpStatusCode));
        return rsp;
      } catch (e) {
        requests.record(method, '<error>');
        throw e;
      }
    },
  });

  // client-node 2.0.1 builds a new undici Agent in every applySecurityAuthentication call: every
  // request opens a new connection (a new TLS handshake) and the old agents keep their sockets until
  // garbage collection; under load that ends in EMFILE. Keep the first agent and reuse it: its
  // options (CA, client certificate, proxy) come from the kubeconfig and do not change. Bearer
  // tokens (also refreshed exec/OIDC tokens) are headers, set anew on every request.
  type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
  let sharedDispatcher: Dispatcher | undefined;
  const auth = {
    getName: (): string => 'kubeconfig, pooled connections',
    applySecurityAuthentication: async (ctx: RequestContext): Promise<void> => {
      await kc.applySecurityAuthentication(ctx);
      const d = ctx.getDispatcher();
      if (!d) return;
      if (!sharedDispatcher) sharedDispatcher = d;
      else if (d !== sharedDispatcher) {
        void d.close().catch(() => undefined);
        ctx.setDispatcher(sharedDispatcher);
      }
    },
  };

  const pre = async (ctx: RequestContext, timeout: boolean): Promise<RequestContext> => {
    if (bucket) await bucket.take();
    ctx.setHeaderParam('User-Agent', userAgent);
    if (timeout) ctx.setSignal(AbortSignal.timeout(timeoutMs));
    return ctx;
  };
  /** A raw request through the same HTTP library (auth, timeout, rate limit, counter). */
  const raw = async (
    method: HttpMethod,
    path: string,
    opts: { body?: unknown; contentType?: string; timeout?: boolean; signal?: AbortSignal } = {},
  ): Promise<ResponseContext> => {
    const ctx = new RequestContext(server + path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    await auth.applySecurityAuthentication(ctx);
    await pre(ctx, opts.timeout !== false);
    if (opts.signal) ctx.setSignal(opts.signal);
    return httpApi.send(ctx).toPromise();
  };
  const rawJson = async <R>(
    what: string,
    method: HttpMethod,
    path: string,
    opts: { body?: unknown; contentType?: string } = {},
  ): Promise<R> => {
    try {
      const rsp = await raw(method, path, opts);
      const text = await rsp.body.text();
      if (rsp.httpStatusCode < 200 || rsp.httpStatusCode > 299)
        throw apiError(rsp.httpStatusCode, text, rsp.headers);
      return JSON.parse(text) as R;
    } catch (e) {
      throw toKubeError(e, what);
    }
  };

  /** Discovery of one group/version: kind → plural and scope. A miss is asked again next time (CRDs come and go). */
  const discovered = new Map<string, Map<string, ResourceType>>();
  const resourceTypeOf = async (apiVersion: string, kind: string): Promise<ResourceType> => {
    const known = discovered.get(apiVersion)?.get(kind);
    if (known) return known;
    const list = await rawJson<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(
      `discover ${apiVersion}`,
      HttpMethod.GET,
      apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`,
    );
    const kinds = new Map<string, ResourceType>();
    for (const r of list.resources ?? []) {
      if (!r.name.includes('/'))
        kinds.set(r.kind, { apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced });
    }
    discovered.set(apiVersion, kinds);
    const found = kinds.get(kind);
    if (!found)
      throw apiError(404, {
        reason: 'NotFound',
        message: `the server does not serve ${kind} in ${apiVersion}`,
      });
    return found;
  };
  const defaultNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  /** The path of an object (or, without a name, of its collection), resolved through discovery. */
  const objectPath = async (ref: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    namespace?: string;
  }) => {
    if (!ref.apiVersion || !ref.kind) throw new TypeError('an object needs apiVersion and kind');
    const type = await resourceTypeOf(ref.apiVersion, ref.kind);
    return pathOf(type, type.namespaced ? (ref.namespace ?? defaultNamespace) : undefined, ref.name);
  };
  const refOf = (obj: KubeObject) => ({
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata?.name,
    namespace: obj.metadata?.namespace,
  });

  const describe = (ref: {
    kind?: string;
    name?: string;
    namespace?: string;
    metadata?: ObjectMeta;
  }): string => {
    const name = ref.name ?? ref.metadata?.name ?? '';
    const ns = ref.namespace ?? ref.metadata?.namespace;
    return `${ref.kind ?? 'object'} ${ns ? `${ns}/` : ''}${name}`;
  };

  return {
    requests,
    get: async <T extends KubeObject>(ref: ObjectRef) =>
      rawJson<T>(`get ${describe(ref)}`, HttpMethod.GET, await objectPath(ref)),

    async list<T extends KubeObject>(type: ResourceType, o: ListOptions = {}): Promise<ListResult<T>> {
      const q = new URLSearchParams();
      if (o.labelSelector) q.set('labelSelector', o.labelSelector);
      if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
      if (o.limit) q.set('limit', String(o.limit));
      if (o.continue) q.set('continue', o.continue);
      const qs = q.toString();
      const list = await rawJson<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>(
        `list ${type.plural}`,
        HttpMethod.GET,
        `${pathOf(type, type.namespaced ? o.namespace : undefined)}${qs ? `?${qs}` : ''}`,
      );
      const items = list.items ?? [];
      // list items carry neither apiVersion nor kind: put them back so items look like gets
      for (const it of items) {
        it.apiVersion ??= type.apiVersion;
        it.kind ??= type.kind;
      }
      return {
        items,
        resourceVersion: list.metadata?.resourceVersion ?? '',
        ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}),
      };
    },

    create: async <T extends KubeObject>(obj: T) =>
      rawJson<T>(
        `create ${describe(obj)}`,
        HttpMethod.POST,
        await objectPath({ ...refOf(obj), name: undefined }),
        {
          body: obj,
        },
      ),

    replace: async <T extends KubeObject>(obj: T) =>
      rawJson<T>(`replace ${describe(obj)}`, HttpMethod.PUT, await objectPath(refOf(obj)), { body: obj }),

    async delete(ref: ObjectRef, o: DeleteOptions = {}): Promise<boolean> {
      try {
        await rawJson(`delete ${describe(ref)}`, HttpMethod.DELETE, await objectPath(ref), {
          body: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            ...(o.propagationPolicy ? { propagationPolicy: o.propagationPolicy } : {}),
            ...(o.preconditions ? { preconditions: o.preconditions } : {}),
          },
        });
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    },

    apply: async <T extends KubeObject>(obj: T, o: ApplyOptions = {}) => {
      const query = new URLSearchParams({
        fieldManager: o.fieldManager ?? 'meshwright',
        force: String(o.force ?? true),
      });
      return rawJson<T>(
        `apply ${describe(obj)}`,
        HttpMethod.PATCH,
        `${await objectPath(refOf(obj))}?${query.toString()}`,
        {
          body: obj,
          contentType: PatchStrategy.ServerSideApply,
        },
      );
    },

    mergePatch: async (ref: ObjectRef, patch: object) =>
      rawJson(`patch ${describe(ref)}`, HttpMethod.PATCH, await objectPath(ref), {
        body: patch,
        contentType: PatchStrategy.MergePatch,
      }),

    patchStatus: <T extends KubeObject>(
      ref: ObjectRef & { plural: string },
      status: unknown,
      o: { resourceVersion: string | undefined },
    ) =>
      rawJson<T>(
        `patch status of ${describe(ref)}`,
        HttpMethod.PATCH,
        `${pathOf(ref, ref.namespace, ref.name)}/status`,
        {
          body: {
            ...(o.resourceVersion ? { metadata: { resourceVersion: o.resourceVersion } } : {}),
            status,
          },
          contentType: PatchStrategy.MergePatch,
        },
      ),

    watch<T extends KubeObject>(
      type: ResourceType,
      o: WatchOptions,
      onEvent: (ev: RawWatchEvent<T>) => void,
    ): WatchHandle {
      const q = new URLSearchParams({ watch: 'true' });
      if (o.resourceVersion) q.set('resourceVersion', o.resourceVersion);
      if (o.labelSelector) q.set('labelSelector', o.labelSelector);
      if (o.fieldSelector) q.set('fieldSelector', o.fieldSelector);
      if (o.allowWatchBookmarks) q.set('allowWatchBookmarks', 'true');
      if (o.timeoutSeconds) q.set('timeoutSeconds', String(o.timeoutSeconds));
      const controller = new AbortController();
      const path = `${pathOf(type, type.namespaced ? o.namespace : undefined)}?${q.toString()}`;
      const done = (async () => {
        let rsp: ResponseContext;
        try {
          rsp = await raw(HttpMethod.GET, path, { timeout: false, signal: controller.signal });
        } catch (e) {
          if (controller.signal.aborted) return;
          throw toKubeError(e, `watch ${type.plural}`);
        }
        if (rsp.httpStatusCode !== 200)
          throw apiError(rsp.httpStatusCode, await rsp.body.text(), rsp.headers);
        const stream = rsp.body.stream();
        if (!stream) return;
        const decoder = new TextDecoder();
        let buffer = '';
        try {
          for await (const chunk of stream as AsyncIterable<Uint8Array>) {
            buffer += decoder.decode(chunk, { stream: true });
            let i: number;
            while ((i = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, i).trim();
              buffer = buffer.slice(i + 1);
              if (line) onEvent(JSON.parse(line) as RawWatchEvent<T>);
            }
          }
        } catch (e) {
          if (controller.signal.aborted) return;
          throw toKubeError(e, `watch ${type.plural}`);
        }
      })();
      return { done, abort: () => controller.abort() };
    },
  };
}
