/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * The HTTP face of the local cluster: routing of Kubernetes API paths, authentication and RBAC,
 * content negotiation (JSON, Table), watch streams with bookmarks, and the fault hooks tests use.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openapiV2,
  openapiV3Doc,
  openapiV3Index,
  SERVER_VERSION,
} from './discovery.js';
import { ApiError, badRequest, methodNotAllowed, notFound, pageNotFound, type Status } from './errors.js';
import type { UserInfo } from './hooks.js';
import { apiVersionOf, type ResourceType } from './kinds.js';
import type { Registry, WriteContext } from './registry.js';
import type { Obj } from './store.js';
import { decodeProtobuf } from './protobuf.js';
import { toTable, type IncludeObject } from './table.js';

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  nonResourcePath?: string;
}

export interface AuthProvider {
  /** undefined: the header is missing or its token unknown (401). */
  authenticate(authorizationHeader: string | undefined): UserInfo | undefined;
  authorize(user: UserInfo, attrs: RequestAttributes): { allowed: boolean; reason: string };
  forbiddenStatus(user: UserInfo, attrs: RequestAttributes): object;
  unauthorizedStatus(): object;
}

export interface RequestRecord {
  time: number;
  method: string;
  path: string;
  query: string;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user?: string;
  code?: number;
}

export interface FaultSpec {
  /** HTTP status to answer with (429 sends Retry-After). Ignored when `hang` is set. */
  status?: number;
  retryAfterSeconds?: number;
  /** Never answer (the client's own timeout ends the request). */
  hang?: boolean;
  /** Wait this long, then handle the request normally (or fail it when `status` is set). */
  delayMs?: number;
  method?: string;
  /** A path prefix or pattern the request path must match. */
  path?: string | RegExp;
  verb?: string;
  resource?: string;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

const ANONYMOUS_ADMIN: UserInfo = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };

const reasonFor = (code: number): string =>
  ({
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
    409: 'Conflict',
    404: 'NotFound',
    403: 'Forbidden',
    401: 'Unauthorized',
  })[code] ?? 'Unknown';

export interface ServerOptions {
  /** When set, every request is authenticated and authorized through it. */
  auth?: AuthProvider;
  /** Plain HTTP only: requests without Authorization are the admin (system:masters). */
  anonymousAdmin: boolean;
  bookmarkIntervalMs: number;
  serverAddress: () => string;
}

interface Route {
  kind: 'resource';
  type: ResourceType;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export class ApiHandler {
  readonly requests: RequestRecord[] = [];
  private readonly faults: ActiveFault[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly hanging = new Set<ServerResponse>();

  constructor(
    public registry: Registry,
    private readonly options: ServerOptions,
  ) {}

  addFault(count: number, spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: count });
  }

  clearFaults(): void {
    this.faults.length = 0;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  /** Closes every open watch (abruptly: the socket is destroyed, as a dropped connection). */
  dropWatches(abrupt = false): number {
    const n = this.watches.size;
    for (const res of this.watches) {
      if (abrupt) res.destroy();
      else res.end();
    }
    this.watches.clear();
    return n;
  }

  closeAll(): void {
    this.dropWatches(true);
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    void this.serve(req, res).catch((e: unknown) => {
      if (!res.headersSent) this.sendError(res, e instanceof ApiError ? e : internal(e));
      else res.destroy();
    });
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = {
      time: Date.now(),
      method,
      path: url.pathname,
      query: url.search,
      verb: '',
    };
    this.requests.push(record);
    if (this.requests.length > 50_000) this.requests.splice(0, 10_000);
    res.on('finish', () => (record.code = res.statusCode));

    let route: Route | { kind: 'nonresource' } | undefined;
    try {
      route = this.route(url.pathname);
    } catch {
      route = undefined;
    }
    if (route?.kind === 'resource') {
      record.verb = verbOf(method, route, url.searchParams);
      record.resource = route.type.plural;
      if (route.subresource) record.subresource = route.subresource;
      if (route.namespace) record.namespace = route.namespace;
      if (route.name) record.name = route.name;
    } else record.verb = method.toLowerCase();

    // faults
    const fault = this.takeFault(method, url.pathname, record);
    if (fault) {
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.hang) {
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return;
      }
      if (fault.status) {
        const code = fault.status;
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined || code === 429)
          headers['Retry-After'] = String(fault.retryAfterSeconds ?? 1);
        this.sendError(
          res,
          new ApiError(
            {
              message:
                code === 429 ? 'Too many requests, please try again later.' : `injected fault: ${code}`,
              reason: reasonFor(code),
              ...(code === 429 ? { details: { retryAfterSeconds: fault.retryAfterSeconds ?? 1 } } : {}),
              code,
            },
            headers,
          ),
        );
        return;
      }
    }

    // authentication
    const header = req.headers.authorization;
    let user: UserInfo | undefined;
    const auth = this.options.auth;
    if (!header && this.options.anonymousAdmin) user = ANONYMOUS_ADMIN;
    else if (auth) user = auth.authenticate(header);
    else user = ANONYMOUS_ADMIN;
    if (!user) {
      const body = auth?.unauthorizedStatus() ?? {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      };
      this.sendJson(res, 401, body);
      return;
    }
    record.user = user.username;

    if (!route) throw pageNotFound();
    if (route.kind === 'nonresource') {
      await this.nonResource(req, res, url, user);
      return;
    }

    // authorization
    if (auth && !user.groups.includes('system:masters')) {
      const attrs: RequestAttributes = {
        verb: record.verb,
        apiGroup: route.group,
        resource: route.type.plural,
        ...(route.subresource ? { subresource: route.subresource } : {}),
        ...(route.namespace ? { namespace: route.namespace } : {}),
        ...(route.name ? { name: route.name } : {}),
      };
      if (!auth.authorize(user, attrs).allowed) {
        this.sendJson(res, 403, auth.forbiddenStatus(user, attrs));
        return;
      }
    }
    await this.resource(req, res, url, route, record.verb, user);
  }

  private takeFault(method: string, path: string, record: RequestRecord): ActiveFault | undefined {
    for (const f of this.faults) {
      if (f.remaining <= 0) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (f.verb && f.verb !== record.verb) continue;
      if (f.resource && f.resource !== record.resource) continue;
      if (f.path && !(typeof f.path === 'string' ? path.startsWith(f.path) : f.path.test(path))) continue;
      f.remaining--;
      if (f.remaining === 0) this.faults.splice(this.faults.indexOf(f), 1);
      return f;
    }
    return undefined;
  }

  private route(pathname: string): Route | { kind: 'nonresource' } | undefined {
    const segs = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 3) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 4) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else return { kind: 'nonresource' };
    const reg = this.registry;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const type = reg.resolve(group, version, rest[2]!);
      if (type?.namespaced) {
        if (rest.length > 5) return undefined;
        return {
          kind: 'resource',
          type,
          group,
          version,
          namespace: rest[1]!,
          ...(rest[3] ? { name: rest[3] } : {}),
          ...(rest[4] ? { subresource: rest[4] } : {}),
        };
      }
    }
    const type = reg.resolve(group, version, rest[0]!);
    if (!type) {
      if (rest.length === 1 && ['selfsubjectaccessreviews', 'selfsubjectreviews'].includes(rest[0]!))
        return { kind: 'nonresource' };
      return undefined;
    }
    if (rest.length > 3) return undefined;
    return {
      kind: 'resource',
      type,
      group,
      version,
      ...(rest[1] ? { name: rest[1] } : {}),
      ...(rest[2] ? { subresource: rest[2] } : {}),
    };
  }

  // ------------------------------------------------------------ non-resource

  private async nonResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    user: UserInfo,
  ): Promise<void> {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const types = this.registry.allTypes();
    const method = req.method ?? 'GET';
    const segs = p.split('/').filter(Boolean);
    if (method === 'POST' && p === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      const body = (await readJson(req)) as Obj;
      const spec = body?.spec ?? {};
      let allowed = true;
      let reason = '';
      if (this.options.auth && !user.groups.includes('system:masters')) {
        const ra = spec.resourceAttributes;
        const attrs: RequestAttributes = ra
          ? {
              verb: ra.verb ?? '',
              apiGroup: ra.group ?? '',
              resource: ra.resource ?? '',
              ...(ra.subresource ? { subresource: ra.subresource } : {}),
              ...(ra.namespace ? { namespace: ra.namespace } : {}),
              ...(ra.name ? { name: ra.name } : {}),
            }
          : {
              verb: spec.nonResourceAttributes?.verb ?? '',
              apiGroup: '',
              resource: '',
              nonResourcePath: spec.nonResourceAttributes?.path ?? '',
            };
        ({ allowed, reason } = this.options.auth.authorize(user, attrs));
      }
      this.sendJson(res, 201, {
        kind: 'SelfSubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: { allowed, ...(reason ? { reason } : {}) },
      });
      return;
    }
    if (method === 'POST' && p === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
      this.sendJson(res, 201, {
        kind: 'SelfSubjectReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
        status: {
          userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups },
        },
      });
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
    let body: unknown;
    if (p === '/version') body = SERVER_VERSION;
    else if (p === '/healthz' || p === '/readyz' || p === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    } else if (p === '/api') body = apiVersions(this.options.serverAddress());
    else if (p === '/apis') body = apiGroupList(types);
    else if (segs[0] === 'api' && segs.length === 2) body = apiResourceList(types, '', segs[1]!);
    else if (segs[0] === 'apis' && segs.length === 2) body = apiGroup(types, segs[1]!);
    else if (segs[0] === 'apis' && segs.length === 3) body = apiResourceList(types, segs[1]!, segs[2]!);
    else if (p === '/openapi/v3') body = openapiV3Index(types);
    else if (segs[0] === 'openapi' && segs[1] === 'v3' && segs[2] === 'api' && segs.length === 4)
      body = openapiV3Doc(types, '', segs[3]!);
    else if (segs[0] === 'openapi' && segs[1] === 'v3' && segs[2] === 'apis' && segs.length === 5)
      body = openapiV3Doc(types, segs[3]!, segs[4]!);
    else if (p === '/openapi/v2') {
      if ((req.headers.accept ?? '').includes('protobuf') && !(req.headers.accept ?? '').includes('json')) {
        throw new ApiError({
          message: 'only the following media types are accepted: application/json',
          reason: 'NotAcceptable',
          code: 406,
        });
      }
      body = openapiV2(types);
    }
    if (body === undefined) throw pageNotFound();
    this.sendJson(res, 200, body);
  }

  // ------------------------------------------------------------ resources

  private async resource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: Route,
    verb: string,
    user: UserInfo,
  ): Promise<void> {
    const q = url.searchParams;
    const { type: t } = route;
    const reg = this.registry;
    const namespace = route.namespace ?? '';
    const table = wantsTable(req.headers.accept);
    const include = (q.get('includeObject') ?? 'Metadata') as IncludeObject;
    const dryRunParam = q.getAll('dryRun');
    if (dryRunParam.some((d) => d !== 'All'))
      throw badRequest(`Invalid dry run value: ${dryRunParam.join(', ')}`);
    const warnings: string[] = [];
    const ctx: WriteContext = {
      user,
      dryRun: dryRunParam.includes('All'),
      ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager')! } : {}),
      fieldValidation: q.get('fieldValidation') ?? 'Warn',
      warnings,
    };
    const fv = ctx.fieldValidation!;
    if (!['Strict', 'Warn', 'Ignore'].includes(fv))
      throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${fv}"`);
    const out = (code: number, obj: Obj): void => {
      const headers: Record<string, string> = {};
      if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
      if (table && !obj.kind?.endsWith?.('Status'))
        this.sendJson(
          res,
          code,
          toTable(t, [obj], { resourceVersion: obj.metadata?.resourceVersion }, include),
          headers,
        );
      else this.sendJson(res, code, obj, headers);
    };
    if (route.subresource && route.subresource !== 'status')
      throw notFound({ group: t.group, resource: t.plural }, route.name ?? '');
    if (route.subresource && !t.statusSubresource) throw pageNotFound();
    if (route.namespace !== undefined && !t.namespaced) throw pageNotFound();

    switch (verb) {
      case 'get':
        out(200, reg.get(t, namespace, route.name!));
        return;
      case 'list': {
        const limit = q.get('limit') ? Number(q.get('limit')) : undefined;
        const result = reg.list(t, route.namespace, {
          labelSelector: q.get('labelSelector'),
          fieldSelector: q.get('fieldSelector'),
          ...(limit !== undefined ? { limit } : {}),
          continue: q.get('continue'),
        });
        const listMeta = {
          resourceVersion: result.resourceVersion,
          ...(result.continue ? { continue: result.continue } : {}),
          ...(result.remainingItemCount !== undefined
            ? { remainingItemCount: result.remainingItemCount }
            : {}),
        };
        if (table) this.sendJson(res, 200, toTable(t, result.items, listMeta, include));
        else
          this.sendJson(res, 200, {
            apiVersion: apiVersionOf(t),
            kind: t.listKind,
            metadata: listMeta,
            items: result.items,
          });
        return;
      }
      case 'watch':
        this.watch(req, res, t, route.namespace, q, table ? include : undefined);
        return;
      case 'create': {
        if (route.subresource) throw methodNotAllowed();
        const body = await readBody(req);
        out(201, await reg.create(t, namespace, body, ctx));
        return;
      }
      case 'update': {
        const body = await readBody(req);
        out(200, await reg.update(t, namespace, route.name!, body, ctx, route.subresource));
        return;
      }
      case 'patch': {
        const text = await readText(req);
        const force = q.get('force');
        if (
          force !== null &&
          (req.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/apply-patch+yaml'
        ) {
          throw badRequest('force: Forbidden: may not be specified for non-apply patch');
        }
        const r = await reg.patch(
          t,
          namespace,
          route.name!,
          req.headers['content-type'] ?? '',
          text,
          ctx,
          { force: force === 'true' },
          route.subresource,
        );
        out(r.created ? 201 : 200, r.object);
        return;
      }
      case 'delete':
      case 'deletecollection': {
        const text = await readText(req);
        const body = text.trim() ? (JSON.parse(text) as Obj) : {};
        let policy = q.get('propagationPolicy') ?? body.propagationPolicy;
        const orphan = q.get('orphanDependents') ?? body.orphanDependents;
        if (!policy && orphan !== undefined && orphan !== null)
          policy = String(orphan) === 'true' ? 'Orphan' : 'Background';
        const dryRun = ctx.dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
        const opts = {
          ...(policy ? { propagationPolicy: policy as string } : {}),
          ...(body.preconditions ? { preconditions: body.preconditions as Obj } : {}),
          dryRun,
        };
        if (verb === 'delete') {
          const r = await reg.delete(t, namespace, route.name!, opts);
          if (r.object) out(r.code, r.object);
          else this.sendJson(res, r.code, r.status);
        } else {
          const items = await reg.deleteCollection(
            t,
            route.namespace,
            { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') },
            opts,
          );
          this.sendJson(res, 200, {
            apiVersion: apiVersionOf(t),
            kind: t.listKind,
            metadata: { resourceVersion: String(reg.store.resourceVersion) },
            items,
          });
        }
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    t: ResourceType,
    namespace: string | undefined,
    q: URLSearchParams,
    table: IncludeObject | undefined,
  ): void {
    const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
    const timeoutSeconds = q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : 1800;
    let first = true;
    const line = (type: string, object: unknown): void => {
      if (table && type !== 'ERROR' && type !== 'BOOKMARK') {
        object = toTable(
          t,
          [object as Obj],
          { resourceVersion: (object as Obj).metadata?.resourceVersion },
          table,
          first,
        );
        first = false;
      }
      res.write(table ? `${JSON.stringify({ type, object })}\n` : watchLine(type, object));
    };
    let unsubscribe: (() => void) | undefined;
    const buffered: [string, Obj][] = [];
    let started = false;
    try {
      unsubscribe = this.registry.watch(
        t,
        namespace,
        {
          labelSelector: q.get('labelSelector'),
          fieldSelector: q.get('fieldSelector'),
          resourceVersion: q.get('resourceVersion'),
        },
        (type, obj) => {
          if (started) line(type, obj);
          else buffered.push([type, obj]);
        },
      );
    } catch (e) {
      if (e instanceof ApiError && e.code === 410) {
        // the real server answers 200 and sends the 410 as an ERROR event
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.end(`${JSON.stringify({ type: 'ERROR', object: e.status })}\n`);
        return;
      }
      throw e;
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    started = true;
    for (const [type, obj] of buffered) line(type, obj);
    this.watches.add(res);
    const bookmark = (): void => {
      line('BOOKMARK', {
        kind: t.kind,
        apiVersion: apiVersionOf(t),
        metadata: { resourceVersion: String(this.registry.store.resourceVersion) },
      });
    };
    const interval = bookmarks ? setInterval(bookmark, this.options.bookmarkIntervalMs) : undefined;
    const timer = setTimeout(() => {
      if (bookmarks) bookmark();
      res.end();
    }, timeoutSeconds * 1000);
    const cleanup = (): void => {
      unsubscribe?.();
      clearInterval(interval);
      clearTimeout(timer);
      this.watches.delete(res);
    };
    res.on('close', cleanup);
    res.on('finish', cleanup);
  }

  // ------------------------------------------------------------ responses

  sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    const data = Buffer.from(JSON.stringify(body));
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': data.length, ...headers });
    res.end(data);
  }

  sendError(res: ServerResponse, e: ApiError): void {
    this.sendJson(res, e.code, e.status satisfies Status, e.headers);
  }
}

/**
 * One watch event as a line of the stream. The store hands every subscriber the same (immutable)
 * object, one event at a time, so remembering the last line serialises each event once however
 * many watchers it fans out to.
 */
let lastEvent: { type: string; object: unknown; line: string } | undefined;
function watchLine(type: string, object: unknown): string {
  if (lastEvent && lastEvent.object === object && lastEvent.type === type) return lastEvent.line;
  lastEvent = { type, object, line: `${JSON.stringify({ type, object })}\n` };
  return lastEvent.line;
}

function internal(e: unknown): ApiError {
  console.error('localcluster: internal error:', e);
  return new ApiError({
    message: `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`,
    reason: 'InternalError',
    details: { causes: [{ message: String(e) }] },
    code: 500,
  });
}

function verbOf(method: string, route: Route, q: URLSearchParams): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (route.name) return 'get';
      return q.get('watch') === 'true' || q.get('watch') === '1' ? 'watch' : 'list';
    case 'POST':
      return route.name && !route.subresource ? 'create-named' : 'create';
    case 'PUT':
      return route.name ? 'update' : 'update-collection';
    case 'PATCH':
      return route.name ? 'patch' : 'patch-collection';
    case 'DELETE':
      return route.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0] ?? '';
  return /as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}

function readBuffer(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const readText = async (req: IncomingMessage): Promise<string> => (await readBuffer(req)).toString('utf8');

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

async function readJson(req: IncomingMessage): Promise<unknown> {
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF)) return readBody(req);
  const text = await readText(req);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}

/** A request body as JSON, or YAML when the Content-Type says so. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
  if (type === PROTOBUF) {
    const decoded = decodeProtobuf(await readBuffer(req));
    if (decoded) return decoded;
    throw new ApiError({
      message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
      reason: 'UnsupportedMediaType',
      code: 415,
    });
  }
  const text = await readText(req);
  if (type === 'application/yaml') {
    try {
      return parseYaml(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  if (type !== 'application/json' && type !== '*/*' && type !== '') {
    throw new ApiError({
      message: `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
      reason: 'UnsupportedMediaType',
      code: 415,
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}
