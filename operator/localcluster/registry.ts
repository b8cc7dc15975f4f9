/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * The REST semantics of the API server, independent of HTTP: create/get/list/update/patch/delete
 * with resourceVersions, generation, defaults, validation, admission, managed fields, status
 * subresources, finalizers and dry runs; plus the background controllers a real control plane
 * runs that an operator depends on (garbage collector, namespace lifecycle, CRD establishment and
 * cleanup). Served types are registered here (built-ins at start, custom ones by CRDs).
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { applyBuiltinDefaults, validateBuiltin, validateMeta } from './builtins.js';
import { fromStorage, toStorage } from './convert.js';
import { crdTypes, prepareCrd, validateCrd } from './crd.js';
import {
  ApiError,
  OBJECT_MODIFIED,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  gone,
  invalid,
  invalidMessage,
  notFound,
  unsupportedMediaType,
  type GroupResource,
  type StatusCause,
} from './errors.js';
import type { Hooks, ListTypeLookup, UserInfo } from './hooks.js';
import { apiVersionOf, builtinTypes, qualifiedKind, type ResourceType } from './kinds.js';
import { cloneJson, jsonEqual, parseJsonObjectText, stableJson } from './json-value.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { parseFieldSelector, parseLabelSelector, type ObjectMatcher } from './selectors.js';
import { Store, type Obj, type StoreEvent } from './store.js';

export interface WriteContext {
  user: UserInfo;
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: string;
  /** Warnings for the `Warning` response header. */
  warnings?: string[];
}

export interface ListOptions {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
  applyCbor: 'application/apply-patch+cbor',
} as const;

const SYSTEM_USER: UserInfo = {
  username: 'system:serviceaccount:kube-system:generic-garbage-collector',
  groups: ['system:masters'],
};

const clone = cloneJson;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const nowMicro = (): string => new Date().toISOString().replace(/Z$/, '000Z');
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const randomSuffix = (): string =>
  Array.from({ length: 5 }, () => NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)]).join('');

const gr = (t: ResourceType): GroupResource => ({ group: t.group, resource: t.plural });

const stable = stableJson;

/** The part of an object whose change bumps `generation`. */
function specOf(t: ResourceType, obj: Obj): unknown {
  if (t.generation === 'none') return '';
  if (t.generation === 'all') {
    const { metadata: _m, status: _s, ...rest } = obj;
    return rest;
  }
  return t.generation.map((f) => obj[f]);
}

/** Objects equal apart from resourceVersion and managedFields timestamps (a no-op write). */
function sameObject(a: Obj, b: Obj): boolean {
  const strip = (o: Obj): Obj => {
    const { resourceVersion: _rv, managedFields, ...md } = o.metadata ?? {};
    return {
      ...o,
      metadata: { ...md, managedFields: ((managedFields ?? []) as Obj[]).map(({ time: _t, ...m }) => m) },
    };
  };
  return jsonEqual(strip(a), strip(b));
}

const RETURNS_DELETED_OBJECT = new Set(['/pods', '/services', '/namespaces']);

export class Registry {
  readonly store: Store;
  private readonly types = new Map<string, ResourceType>();
  /** CRD name → the types it registered. */
  private readonly crdServed = new Map<string, ResourceType[]>();
  private readonly pending = new Set<string>();
  private scheduled = false;
  private readonly typeListeners: (() => void)[] = [];
  private readonly listTypeLookups = new WeakMap<object, ListTypeLookup>();

  constructor(
    readonly hooks: Hooks,
    options: { historyWindow?: number; store?: Store } = {},
  ) {
    this.store = options.store ?? new Store(options.historyWindow);
    for (const t of builtinTypes()) this.types.set(`${t.group}/${t.version}/${t.plural}`, t);
    this.store.onChange((ev) => this.observe(ev));
  }

  // ---------------------------------------------------------------- types

  onTypesChanged(listener: () => void): void {
    this.typeListeners.push(listener);
  }

  allTypes(): ResourceType[] {
    return [...this.types.values()];
  }

  resolve(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(`${group}/${version}/${plural}`);
  }

  typeByStorage(key: string): ResourceType | undefined {
    for (const t of this.types.values())
      if (t.storageKey === key && !(key === '/events' && t.group)) return t;
    return undefined;
  }

  private typeFor(key: string): ResourceType {
    const t = this.typeByStorage(key);
    if (!t) throw new Error(`no served type stores ${key}`);
    return t;
  }

  private listTypeOf(t: ResourceType): ListTypeLookup {
    const schema = t.custom?.openAPIV3Schema;
    if (!schema) return this.hooks.builtinListTypes;
    // once per CRD version (its stored schema is never mutated), not once per request
    let lookup = this.listTypeLookups.get(schema);
    if (!lookup) this.listTypeLookups.set(schema, (lookup = this.hooks.listTypeFromSchema(schema)));
    return lookup;
  }

  // ---------------------------------------------------------------- reads

  get(t: ResourceType, namespace: string, name: string): Obj {
    const obj = this.store.get(t.storageKey, t.namespaced ? namespace : '', name);
    if (!obj) throw notFound(gr(t), name);
    return fromStorage(t, obj);
  }

  /** A list in storage order, with a continue token when `limit` cut it short. */
  list(
    t: ResourceType,
    namespace: string | undefined,
    opts: ListOptions,
  ): { items: Obj[]; resourceVersion: string; continue?: string; remainingItemCount?: number } {
    const match = this.matcher(t, opts);
    let items = this.store.list(t.storageKey, t.namespaced ? namespace : undefined);
    let rv = String(this.store.resourceVersion);
    if (opts.continue) {
      let token: { rv: string; start: string };
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64url').toString('utf8')) as {
          rv: string;
          start: string;
        };
        if (typeof token.start !== 'string') throw new Error('bad');
      } catch {
        throw badRequest(
          'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
        );
      }
      if (Number(token.rv) < this.store.oldestResumable) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = token.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > token.start);
    }
    if (match) items = items.filter(match);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
    if (limit && items.length > limit) {
      const page = items.slice(0, limit);
      const last = page[page.length - 1]!;
      const start = `${last.metadata.namespace ?? ''}/${last.metadata.name}`;
      return {
        items: page.map((o) => fromStorage(t, o)),
        resourceVersion: rv,
        continue: Buffer.from(JSON.stringify({ rv, start })).toString('base64url'),
        remainingItemCount: match ? undefined : items.length - limit,
      };
    }
    return { items: items.map((o) => fromStorage(t, o)), resourceVersion: rv };
  }

  matcher(
    t: ResourceType,
    opts: { labelSelector?: string | null; fieldSelector?: string | null },
  ): ObjectMatcher | undefined {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, t.storageKey);
    if (!labels && !fields) return undefined;
    return (o: Obj) => (!labels || labels(o.metadata?.labels)) && (!fields || fields(o));
  }

  /**
   * Subscribes to changes of `t` from `resourceVersion` (unset or "0": the current objects first,
   * as ADDED). Selector transitions become ADDED/DELETED like the real watch cache.
   * Throws 410 Gone (ApiError) when the history no longer reaches back to `resourceVersion`.
   */
  watch(
    t: ResourceType,
    namespace: string | undefined,
    opts: { labelSelector?: string | null; fieldSelector?: string | null; resourceVersion?: string | null },
    send: (type: string, obj: Obj) => void,
  ): () => void {
    const match = this.matcher(t, opts) ?? (() => true);
    const ns = t.namespaced ? namespace : undefined;
    const deliver = (ev: StoreEvent): void => {
      const now = match(ev.object);
      const before = ev.old !== undefined && ev.type === 'MODIFIED' ? match(ev.old) : now;
      if (ev.type === 'MODIFIED') {
        if (now && before) send('MODIFIED', fromStorage(t, ev.object));
        else if (now) send('ADDED', fromStorage(t, ev.object));
        else if (before) send('DELETED', fromStorage(t, ev.object));
      } else if (now) send(ev.type, fromStorage(t, ev.object));
    };
    const rvText = opts.resourceVersion;
    if (!rvText || rvText === '0') {
      for (const o of this.store.list(t.storageKey, ns)) if (match(o)) send('ADDED', fromStorage(t, o));
    } else {
      const rv = Number(rvText);
      if (!Number.isInteger(rv) || rv < 0) throw badRequest(`invalid resource version: ${rvText}`);
      const events = this.store.since(rv, t.storageKey, ns);
      if (!events) throw gone(`too old resource version: ${rv} (${this.store.oldestResumable + 1})`);
      for (const ev of events) deliver(ev);
    }
    return this.store.subscribe({ key: t.storageKey, namespace: ns, onEvent: deliver });
  }

  // ---------------------------------------------------------------- writes

  async create(t: ResourceType, namespace: string, body: unknown, ctx: WriteContext): Promise<Obj> {
    const obj = this.checkBody(t, body, namespace);
    const md = obj.metadata;
    if (!md.name && md.generateName) {
      md.name = `${md.generateName}${randomSuffix()}`;
    }
    const name = (md.name as string | undefined) ?? '';
    if (t.namespaced) this.checkNamespaceForCreate(t, namespace, name);
    if (!name && !md.generateName) {
      const causes = [
        {
          reason: 'FieldValueRequired',
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
        },
      ];
      throw invalid(t.group, t.kind, '', causes, invalidMessage(qualifiedKind(t), '', causes));
    }
    for (const f of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'])
      delete md[f];
    md.uid = randomUUID();
    md.creationTimestamp = now();
    if (t.generation !== 'none') md.generation = 1;
    else delete md.generation;
    if (t.statusSubresource) delete obj.status;
    let stored = this.prepare(t, obj, undefined, ctx);
    stored = await this.admit(t, 'CREATE', stored, undefined, ctx);
    stored = this.withManagedFields(t, stored, undefined, ctx, 'Update');
    this.validate(t, stored, undefined);
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') this.validateCrdNames(stored);
    if (this.store.get(t.storageKey, stored.metadata.namespace ?? '', stored.metadata.name)) {
      throw alreadyExists(gr(t), stored.metadata.name);
    }
    if (ctx.dryRun) return fromStorage(t, stored);
    return fromStorage(t, this.store.create(t.storageKey, stored));
  }

  async update(
    t: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<Obj> {
    const obj = this.checkBody(t, body, namespace);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    const live = this.store.get(t.storageKey, t.namespaced ? namespace : '', name);
    if (!live) throw notFound(gr(t), name);
    const rv = obj.metadata.resourceVersion as string | undefined;
    if (!rv && t.custom) {
      const causes = [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.resourceVersion',
          message: 'Invalid value: 0x0: must be specified for an update',
        },
      ];
      throw invalid(t.group, t.kind, name, causes, invalidMessage(qualifiedKind(t), name, causes));
    }
    return this.write(t, live, obj, ctx, subresource, rv);
  }

  async patch(
    t: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    body: string,
    ctx: WriteContext,
    opts: { force?: boolean },
    subresource?: string,
  ): Promise<{ object: Obj; created: boolean }> {
    const ns = t.namespaced ? namespace : '';
    const type = contentType.split(';')[0]!.trim().toLowerCase();
    const accepted = t.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply, PATCH_TYPES.applyCbor]
      : [
          PATCH_TYPES.json,
          PATCH_TYPES.merge,
          PATCH_TYPES.strategic,
          PATCH_TYPES.apply,
          PATCH_TYPES.applyCbor,
        ];
    if (!accepted.includes(type as never) || type === PATCH_TYPES.applyCbor)
      throw unsupportedMediaType(contentType, accepted);
    if (type === PATCH_TYPES.apply)
      return this.apply(t, namespace, name, body, ctx, opts.force === true, subresource);
    let patch: unknown;
    try {
      patch = JSON.parse(body);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    for (let attempt = 0; ; attempt++) {
      const stored = this.store.get(t.storageKey, ns, name);
      if (!stored) throw notFound(gr(t), name);
      const live = fromStorage(t, stored);
      let patched: unknown;
      if (type === PATCH_TYPES.json) patched = jsonPatch(live, patch, qualifiedKind(t), name);
      else if (type === PATCH_TYPES.merge) {
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
          throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
        patched = mergePatch(live, patch);
      } else patched = strategicMergePatch(live, patch);
      const precondition = (patched as Obj)?.metadata?.resourceVersion as string | undefined;
      try {
        const object = await this.write(
          t,
          stored,
          patched,
          ctx,
          subresource,
          precondition,
          stored.metadata.resourceVersion,
        );
        return { object, created: false };
      } catch (e) {
        // the object changed while admission ran: a patch without precondition is re-applied
        if (e instanceof RetryWrite && attempt < 5) continue;
        throw e;
      }
    }
  }

  private async apply(
    t: ResourceType,
    namespace: string,
    name: string,
    body: string,
    ctx: WriteContext,
    force: boolean,
    subresource?: string,
  ): Promise<{ object: Obj; created: boolean }> {
    if (!ctx.fieldManager) {
      const causes = [
        {
          reason: 'FieldValueRequired',
          field: 'fieldManager',
          message: 'Required value: is required for apply patch',
        },
      ];
      throw invalid(
        'meta.k8s.io',
        'PatchOptions',
        '',
        causes,
        invalidMessage('PatchOptions.meta.k8s.io', '', causes),
      );
    }
    let applied: Obj;
    try {
      applied = (parseJsonObjectText(body)?.value ?? parseYaml(body)) as Obj;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (typeof applied !== 'object' || applied === null || Array.isArray(applied))
      throw badRequest('error decoding YAML: the applied configuration must be an object');
    if (!applied.apiVersion || !applied.kind) {
      throw badRequest(`invalid object type: /, Kind=`);
    }
    applied.metadata ??= {};
    if (applied.metadata.name && applied.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    applied.metadata.name = name;
    if (t.namespaced) applied.metadata.namespace ??= namespace;
    const ns = t.namespaced ? namespace : '';
    for (let attempt = 0; ; attempt++) {
      const stored = this.store.get(t.storageKey, ns, name);
      const live = stored && fromStorage(t, stored);
      const result = this.hooks.serverSideApply({
        live,
        applied: clone(applied),
        manager: ctx.fieldManager,
        force,
        listType: this.listTypeOf(t),
        apiVersion: apiVersionOf(t),
        now: now(),
        ...(subresource ? { subresource } : {}),
      });
      if (!result.ok) throw applyConflict(result.conflicts, apiVersionOf(t));
      if (!live) {
        if (subresource) throw notFound(gr(t), name);
        const object = await this.create(t, namespace, result.object, {
          ...ctx,
          fieldManager: undefined,
          managedFieldsSet: true,
        } as WriteContext);
        return { object, created: true };
      }
      try {
        const object = await this.write(
          t,
          stored,
          result.object,
          { ...ctx, managedFieldsSet: true } as WriteContext,
          subresource,
          applied.metadata.resourceVersion as string | undefined,
          stored.metadata.resourceVersion,
        );
        return { object, created: false };
      } catch (e) {
        if (e instanceof RetryWrite && attempt < 5) continue;
        throw e;
      }
    }
  }

  /** Validates the shape of a request body and returns a storage-form copy with the URL's namespace. */
  private checkBody(t: ResourceType, body: unknown, namespace: string): Obj {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    }
    const obj = clone(body) as Obj;
    const apiVersion = apiVersionOf(t);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== t.kind) {
      throw badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${t.kind})`,
      );
    }
    obj.apiVersion = apiVersion;
    obj.kind = t.kind;
    if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = {};
    if (t.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = namespace;
    } else delete obj.metadata.namespace;
    return toStorage(t, obj);
  }

  private checkNamespaceForCreate(t: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get('/namespaces', '', namespace);
    if (!ns) throw notFound({ group: '', resource: 'namespaces' }, namespace);
    if (ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') {
      throw forbidden(
        gr(t),
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  /** Defaults (schema and built-in); returns a fresh object. */
  private prepare(t: ResourceType, obj: Obj, old: Obj | undefined, ctx: WriteContext): Obj {
    let out = obj;
    if (t.custom?.schema) {
      const { metadata, apiVersion, kind } = out;
      const pruned = t.custom.schema.prune(clone(out)) as Obj;
      const unknown = unknownFields(out, pruned);
      if (unknown.length && ctx.fieldValidation === 'Strict') {
        throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      }
      if (unknown.length && ctx.fieldValidation !== 'Ignore')
        ctx.warnings?.push(...unknown.map((f) => `unknown field "${f}"`));
      out = t.custom.schema.applyDefaults(pruned) as Obj;
      out.metadata = metadata;
      out.apiVersion = apiVersion;
      out.kind = kind;
    } else if (!t.custom) {
      applyBuiltinDefaults(t, out, old, { usedClusterIPs: () => this.usedClusterIPs() });
    }
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions') prepareCrd(out, old);
    return out;
  }

  private usedClusterIPs(): Set<string> {
    return new Set(this.store.list('/services').map((s) => s.spec?.clusterIP as string));
  }

  private validate(t: ResourceType, obj: Obj, old: Obj | undefined): void {
    const causes: StatusCause[] = validateMeta(obj, t);
    if (old?.metadata.deletionTimestamp) {
      const added = ((obj.metadata.finalizers ?? []) as string[]).filter(
        (f) => !((old.metadata.finalizers ?? []) as string[]).includes(f),
      );
      if (added.length)
        causes.push({
          reason: 'FieldValueForbidden',
          field: 'metadata.finalizers',
          message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
        });
    }
    if (t.custom) {
      const schemaCauses = t.custom.schema ? t.custom.schema.validate(obj, old) : [];
      const all = [...causes, ...schemaCauses];
      if (all.length) {
        const kind = qualifiedKind(t);
        throw invalid(
          t.group,
          t.kind,
          obj.metadata.name ?? '',
          all,
          this.hooks.formatInvalid(kind, obj.metadata.name ?? '', all as never),
        );
      }
      return;
    }
    causes.push(...validateBuiltin(t, obj, old));
    if (t.storageKey === 'apiextensions.k8s.io/customresourcedefinitions')
      causes.push(...validateCrd(obj, old, (schema) => this.hooks.structuralErrors(schema)));
    if (causes.length)
      throw invalid(
        t.group,
        t.kind,
        obj.metadata.name ?? '',
        causes,
        invalidMessage(qualifiedKind(t), obj.metadata.name ?? '', causes),
      );
  }

  private validateCrdNames(crd: Obj): void {
    for (const t of crdTypes(crd, this.hooks)) {
      const clash = this.resolve(t.group, t.version, t.plural);
      if (clash && clash.custom?.crdName !== crd.metadata.name) {
        throw invalid(
          'apiextensions.k8s.io',
          'CustomResourceDefinition',
          crd.metadata.name,
          [
            {
              reason: 'FieldValueInvalid',
              field: 'spec.names.plural',
              message: 'Invalid value: "' + t.plural + '": is already in use',
            },
          ],
          `CustomResourceDefinition.apiextensions.k8s.io "${crd.metadata.name}" is invalid: spec.names.plural: Invalid value: "${t.plural}": is already in use`,
        );
      }
    }
  }

  private async admit(
    t: ResourceType,
    operation: 'CREATE' | 'UPDATE',
    obj: Obj,
    old: Obj | undefined,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<Obj> {
    const configurations = this.store.list('admissionregistration.k8s.io/mutatingwebhookconfigurations');
    if (configurations.length === 0) return obj;
    const namespace = obj.metadata.namespace as string | undefined;
    const nsObj = namespace ? this.store.get('/namespaces', '', namespace) : undefined;
    const result = await this.hooks.runMutatingWebhooks({
      configurations,
      request: {
        uid: randomUUID(),
        operation,
        kind: { group: t.group, version: t.version, kind: t.kind },
        resource: { group: t.group, version: t.version, resource: t.plural },
        ...(subresource ? { subResource: subresource } : {}),
        ...(namespace ? { namespace } : {}),
        name: obj.metadata.name,
        object: fromStorage(t, obj),
        ...(old ? { oldObject: fromStorage(t, old) } : {}),
        userInfo: ctx.user,
        dryRun: ctx.dryRun === true,
      },
      namespaceLabels: nsObj?.metadata.labels ?? {},
      resolveService: (ns, name, port) => this.resolveService(ns, name, port),
    });
    ctx.warnings?.push(...(result.allowed ? result.warnings : []));
    if (!result.allowed) {
      const s = result.status as { code?: number; message?: string; reason?: string };
      throw new ApiError({
        code: s.code ?? 400,
        message: s.message ?? 'admission webhook denied the request',
        reason: s.reason ?? 'BadRequest',
        ...(s as object),
      });
    }
    if (!result.object) return obj;
    let mutated = toStorage(t, clone(result.object));
    // system fields are not the webhook's to change
    for (const f of [
      'uid',
      'creationTimestamp',
      'resourceVersion',
      'generation',
      'deletionTimestamp',
      'name',
      'namespace',
    ]) {
      if (obj.metadata[f] === undefined) delete mutated.metadata[f];
      else mutated.metadata[f] = obj.metadata[f];
    }
    mutated = this.prepare(t, mutated, old, { ...ctx, fieldValidation: 'Ignore' });
    return mutated;
  }

  /** A Service's address for webhooks: its Endpoints' first address and the matching port. */
  resolveService(namespace: string, name: string, port: number): { host: string; port: number } | undefined {
    const svc = this.store.get('/services', namespace, name);
    const ep = this.store.get('/endpoints', namespace, name);
    const subset = (ep?.subsets ?? [])[0] as Obj | undefined;
    const address = subset?.addresses?.[0]?.ip as string | undefined;
    if (!address) return undefined;
    const svcPort = ((svc?.spec?.ports ?? []) as Obj[]).find((p) => p.port === port);
    const epPort =
      ((subset?.ports ?? []) as Obj[]).find((p) => !svcPort?.name || p.name === svcPort.name) ??
      subset?.ports?.[0];
    return { host: address, port: (epPort?.port as number | undefined) ?? port };
  }

  private withManagedFields(
    t: ResourceType,
    obj: Obj,
    live: Obj | undefined,
    ctx: WriteContext,
    _op: 'Update',
    subresource?: string,
  ): Obj {
    if ((ctx as { managedFieldsSet?: boolean }).managedFieldsSet) return obj;
    const manager = ctx.fieldManager ?? defaultManager(ctx);
    const updated = this.hooks.recordUpdate({
      live: live && fromStorage(t, live),
      updated: fromStorage(t, obj),
      manager,
      listType: this.listTypeOf(t),
      apiVersion: apiVersionOf(t),
      now: now(),
      ...(subresource ? { subresource } : {}),
    });
    const out = toStorage(t, updated);
    const managedFields = (updated.metadata as Obj | undefined)?.managedFields as unknown;
    out.metadata = { ...obj.metadata, managedFields };
    if (!out.metadata.managedFields) delete out.metadata.managedFields;
    return out;
  }

  /**
   * The common tail of update, patch and apply: `body` is the desired object (request form);
   * `expectRv` the client's precondition; `basedOn` the live rv the body was computed from.
   */
  private async write(
    t: ResourceType,
    live: Obj,
    body: unknown,
    ctx: WriteContext,
    subresource: string | undefined,
    expectRv: string | undefined,
    basedOn?: string,
  ): Promise<Obj> {
    const name = live.metadata.name as string;
    if (expectRv && expectRv !== live.metadata.resourceVersion) throw conflict(gr(t), name, OBJECT_MODIFIED);
    if (subresource && subresource !== 'status') throw notFound(gr(t), name);
    if (subresource === 'status' && !t.statusSubresource) throw notFound(gr(t), name);
    const next = this.checkBody(t, body, live.metadata.namespace ?? '');
    let obj: Obj;
    if (subresource === 'status') {
      obj = clone(live);
      obj.status = next.status;
      if (obj.status === undefined) delete obj.status;
      if ((ctx as { managedFieldsSet?: boolean }).managedFieldsSet)
        obj.metadata.managedFields = next.metadata.managedFields;
    } else {
      obj = next;
      const md = obj.metadata;
      for (const f of [
        'uid',
        'creationTimestamp',
        'generation',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'namespace',
      ]) {
        if (live.metadata[f] === undefined) delete md[f];
        else md[f] = live.metadata[f];
      }
      if (!(ctx as { managedFieldsSet?: boolean }).managedFieldsSet)
        md.managedFields = live.metadata.managedFields;
      if (t.statusSubresource) {
        if (live.status === undefined) delete obj.status;
        else obj.status = live.status;
      }
    }
    obj = this.prepare(t, obj, live, ctx);
    obj = await this.admit(t, 'UPDATE', obj, live, ctx, subresource);
    obj = this.withManagedFields(t, obj, live, ctx, 'Update', subresource);
    if (t.generation !== 'none' && !jsonEqual(specOf(t, obj), specOf(t, live)))
      obj.metadata.generation = ((live.metadata.generation as number | undefined) ?? 0) + 1;
    this.validate(t, obj, live);
    const current = this.store.get(t.storageKey, live.metadata.namespace ?? '', name);
    if (!current) throw notFound(gr(t), name);
    if (current.metadata.resourceVersion !== live.metadata.resourceVersion) {
      if (expectRv) throw conflict(gr(t), name, OBJECT_MODIFIED);
      throw new RetryWrite();
    }
    void basedOn;
    obj.metadata.resourceVersion = live.metadata.resourceVersion;
    if (sameObject(obj, live)) return fromStorage(t, live);
    if (ctx.dryRun) return fromStorage(t, obj);
    if (removable(t.storageKey, obj)) return fromStorage(t, this.store.remove(t.storageKey, live, obj));
    return fromStorage(t, this.store.update(t.storageKey, obj, live));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async like every other verb
  async delete(
    t: ResourceType,
    namespace: string,
    name: string,
    opts: DeleteOptions,
  ): Promise<{ object: Obj | undefined; status: Obj; code: number }> {
    const ns = t.namespaced ? namespace : '';
    const live = this.store.get(t.storageKey, ns, name);
    if (!live) throw notFound(gr(t), name);
    const pre = opts.preconditions ?? {};
    if (pre.uid && pre.uid !== live.metadata.uid) {
      throw conflict(
        gr(t),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw conflict(
        gr(t),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`,
      );
    }
    const policy = opts.propagationPolicy;
    if (policy && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      const causes = [
        {
          reason: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        },
      ];
      throw invalid(
        'meta.k8s.io',
        'DeleteOptions',
        '',
        causes,
        invalidMessage('DeleteOptions.meta.k8s.io', '', causes),
      );
    }
    const finalizers = [...((live.metadata.finalizers ?? []) as string[])];
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
      finalizers.push('foregroundDeletion');
    if (policy === 'Background' || policy === 'Foreground') {
      const i = finalizers.indexOf('orphan');
      if (i >= 0 && policy === 'Foreground') finalizers.splice(i, 1);
    }
    const result = (obj: Obj): { object: Obj; status: Obj; code: number } => ({
      object: fromStorage(t, obj),
      status: successStatus(t, obj),
      code: 200,
    });
    if (t.storageKey === '/namespaces' && !live.metadata.deletionTimestamp) {
      const obj = clone(live);
      obj.metadata.deletionTimestamp = now();
      obj.metadata.deletionGracePeriodSeconds = 0;
      obj.metadata.finalizers = finalizers.length ? finalizers : undefined;
      if (!obj.metadata.finalizers) delete obj.metadata.finalizers;
      obj.status = { ...(obj.status ?? {}), phase: 'Terminating' };
      if (opts.dryRun) return result(obj);
      this.store.update(t.storageKey, obj, live);
      this.schedule(`ns\u0000${name}`);
      return result(this.store.get(t.storageKey, '', name)!);
    }
    if (finalizers.length || (t.storageKey === '/namespaces' && live.spec?.finalizers?.length)) {
      if (live.metadata.deletionTimestamp && stable(finalizers) === stable(live.metadata.finalizers ?? []))
        return result(live);
      const obj = clone(live);
      obj.metadata.finalizers = finalizers;
      if (!obj.metadata.deletionTimestamp) {
        obj.metadata.deletionTimestamp = now();
        obj.metadata.deletionGracePeriodSeconds = 0;
        if (obj.metadata.generation !== undefined) obj.metadata.generation += 1;
      }
      if (opts.dryRun) return result(obj);
      this.store.update(t.storageKey, obj, live);
      return result(this.store.get(t.storageKey, ns, name)!);
    }
    if (opts.dryRun)
      return {
        ...result(live),
        object: RETURNS_DELETED_OBJECT.has(t.storageKey) || t.custom ? fromStorage(t, live) : undefined,
      };
    const removed = this.store.remove(t.storageKey, live);
    return {
      object: RETURNS_DELETED_OBJECT.has(t.storageKey) || t.custom ? fromStorage(t, removed) : undefined,
      status: successStatus(t, removed),
      code: 200,
    };
  }

  async deleteCollection(
    t: ResourceType,
    namespace: string | undefined,
    list: ListOptions,
    opts: DeleteOptions,
  ): Promise<Obj[]> {
    const { items } = this.list(t, namespace, {
      labelSelector: list.labelSelector,
      fieldSelector: list.fieldSelector,
    });
    const out: Obj[] = [];
    for (const item of items) {
      try {
        const r = await this.delete(t, item.metadata.namespace ?? '', item.metadata.name, opts);
        out.push(r.object ?? item);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- controllers

  private observe(ev: StoreEvent): void {
    const md = ev.object.metadata;
    if (ev.key === 'apiextensions.k8s.io/customresourcedefinitions') this.schedule(`crd\u0000${md.name}`);
    if (ev.key === '/namespaces' && ev.type === 'ADDED') this.schedule(`sa\u0000${md.name}`);
    if (ev.type === 'DELETED') {
      if (this.store.dependentsOf(md.uid).length) this.schedule(`gc\u0000${md.uid}`);
      if (ev.namespace && this.store.get('/namespaces', '', ev.namespace)?.metadata.deletionTimestamp)
        this.schedule(`ns\u0000${ev.namespace}`);
      for (const ref of (md.ownerReferences ?? []) as Obj[]) {
        const owner = this.store.getByUid(ref.uid);
        if (owner?.metadata.deletionTimestamp) this.schedule(`gc\u0000${ref.uid}`);
      }
      for (const [name, types] of this.crdServed)
        if (types[0]?.storageKey === ev.key) this.schedule(`crd\u0000${name}`);
    } else {
      if (md.ownerReferences?.length)
        this.schedule(`dangling\u0000${ev.key}\u0000${ev.namespace}\u0000${md.name}`);
      if (md.deletionTimestamp) {
        this.schedule(`gc\u0000${md.uid}`);
        if (ev.key === '/namespaces') this.schedule(`ns\u0000${md.name}`);
      }
      for (const ref of (md.ownerReferences ?? []) as Obj[]) {
        const owner = this.store.getByUid(ref.uid);
        if (owner?.metadata.deletionTimestamp) this.schedule(`gc\u0000${ref.uid}`);
      }
    }
  }

  private schedule(task: string): void {
    this.pending.add(task);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.runPending());
  }

  /** Resolves once the background controllers have nothing left to do (for tests). */
  async settle(): Promise<void> {
    while (this.scheduled || this.pending.size) await new Promise((r) => setImmediate(r));
  }

  private async runPending(): Promise<void> {
    const tasks = [...this.pending];
    this.pending.clear();
    for (const task of tasks) {
      const [kind, ...args] = task.split('\u0000');
      try {
        if (kind === 'gc') await this.collect(args[0]!);
        else if (kind === 'dangling') await this.checkDangling(args[0]!, args[1]!, args[2]!);
        else if (kind === 'ns') await this.finalizeNamespace(args[0]!);
        else if (kind === 'crd') await this.reconcileCrd(args[0]!);
        else if (kind === 'sa') await this.defaultServiceAccount(args[0]!);
      } catch (e) {
        if (!(e instanceof ApiError && (e.code === 404 || e.code === 409)))
          console.error(`localcluster: ${kind} controller:`, e);
      }
    }
    this.scheduled = false;
    if (this.pending.size) this.schedule([...this.pending][0]!);
  }

  private ownerExists(dep: Obj, ref: Obj): boolean {
    const owner = this.store.getByUid(ref.uid);
    if (!owner) return false;
    const ownerRef = this.store.refByUid(ref.uid)!;
    return ownerRef.namespace === '' || ownerRef.namespace === (dep.metadata.namespace ?? '');
  }

  private async deleteSystem(key: string, namespace: string, name: string, policy?: string): Promise<void> {
    try {
      await this.delete(this.typeFor(key), namespace, name, policy ? { propagationPolicy: policy } : {});
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- controllers await every write
  private async updateSystem(key: string, live: Obj, change: (o: Obj) => void): Promise<void> {
    const obj = clone(live);
    change(obj);
    if (removable(key, obj)) {
      this.store.remove(key, live, obj);
      return;
    }
    this.store.update(key, obj, live);
  }

  /** Garbage collection around the object with `uid` (deleted, or being deleted with orphan/foreground). */
  private async collect(uid: string): Promise<void> {
    const owner = this.store.getByUid(uid);
    const deps = this.store.dependentsOf(uid);
    if (!owner) {
      for (const d of deps) {
        const dep = this.store.get(d.key, d.namespace, d.name);
        if (!dep) continue;
        const refs = (dep.metadata.ownerReferences ?? []) as Obj[];
        if (refs.some((r) => this.ownerExists(dep, r))) {
          // other owners remain: only drop the reference to the gone owner
          await this.updateSystem(d.key, dep, (o) => {
            o.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
          });
        } else if (!dep.metadata.deletionTimestamp)
          await this.deleteSystem(d.key, d.namespace, d.name, 'Background');
      }
      return;
    }
    if (!owner.metadata.deletionTimestamp) return;
    const ref = this.store.refByUid(uid)!;
    const finalizers = (owner.metadata.finalizers ?? []) as string[];
    if (finalizers.includes('orphan')) {
      for (const d of deps) {
        const dep = this.store.get(d.key, d.namespace, d.name);
        if (!dep) continue;
        await this.updateSystem(d.key, dep, (o) => {
          o.metadata.ownerReferences = ((o.metadata.ownerReferences ?? []) as Obj[]).filter(
            (r) => r.uid !== uid,
          );
          if (!o.metadata.ownerReferences.length) delete o.metadata.ownerReferences;
        });
      }
      const fresh = this.store.get(ref.key, ref.namespace, ref.name)!;
      await this.updateSystem(ref.key, fresh, (o) => {
        o.metadata.finalizers = ((o.metadata.finalizers ?? []) as string[]).filter((f) => f !== 'orphan');
      });
      return;
    }
    if (finalizers.includes('foregroundDeletion')) {
      let blocking = 0;
      for (const d of deps) {
        const dep = this.store.get(d.key, d.namespace, d.name);
        if (!dep) continue;
        const r = ((dep.metadata.ownerReferences ?? []) as Obj[]).find((x) => x.uid === uid);
        if (r?.blockOwnerDeletion) blocking++;
        if (!dep.metadata.deletionTimestamp) {
          const others = ((dep.metadata.ownerReferences ?? []) as Obj[]).filter(
            (x) => x.uid !== uid && this.ownerExists(dep, x),
          );
          if (others.length) {
            await this.updateSystem(d.key, dep, (o) => {
              o.metadata.ownerReferences = ((o.metadata.ownerReferences ?? []) as Obj[]).filter(
                (x) => x.uid !== uid,
              );
            });
            if (r?.blockOwnerDeletion) blocking--;
          } else await this.deleteSystem(d.key, d.namespace, d.name, 'Foreground');
        }
      }
      const stillBlocking = this.store.dependentsOf(uid).filter((d) => {
        const dep = this.store.get(d.key, d.namespace, d.name);
        return ((dep?.metadata.ownerReferences ?? []) as Obj[]).some(
          (x) => x.uid === uid && x.blockOwnerDeletion,
        );
      });
      void blocking;
      if (stillBlocking.length === 0) {
        const fresh = this.store.get(ref.key, ref.namespace, ref.name);
        if (fresh) {
          await this.updateSystem(ref.key, fresh, (o) => {
            o.metadata.finalizers = ((o.metadata.finalizers ?? []) as string[]).filter(
              (f) => f !== 'foregroundDeletion',
            );
          });
        }
      }
    }
  }

  /** A dependent none of whose owners exists is deleted (the garbage collector's dangling-reference rule). */
  private async checkDangling(key: string, namespace: string, name: string): Promise<void> {
    const dep = this.store.get(key, namespace, name);
    if (!dep || dep.metadata.deletionTimestamp) return;
    const refs = (dep.metadata.ownerReferences ?? []) as Obj[];
    if (refs.length && !refs.some((r) => this.ownerExists(dep, r)))
      await this.deleteSystem(key, namespace, name, 'Background');
  }

  /** The namespace controller: delete everything in a terminating namespace, then the namespace. */
  private async finalizeNamespace(name: string): Promise<void> {
    const ns = this.store.get('/namespaces', '', name);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    for (const key of this.store.keys()) {
      if (key === '/namespaces') continue;
      for (const obj of this.store.list(key, name)) {
        remaining++;
        if (!obj.metadata.deletionTimestamp)
          await this.deleteSystem(key, name, obj.metadata.name, 'Background');
      }
    }
    remaining = this.store
      .keys()
      .filter((k) => k !== '/namespaces')
      .reduce((n, k) => n + this.store.count(k, name), 0);
    const fresh = this.store.get('/namespaces', '', name);
    if (!fresh) return;
    if (remaining === 0 && fresh.spec?.finalizers?.includes('kubernetes')) {
      await this.updateSystem('/namespaces', fresh, (o) => {
        o.spec.finalizers = (o.spec.finalizers as string[]).filter((f) => f !== 'kubernetes');
      });
    } else if (remaining > 0) {
      const conditions = [
        {
          type: 'NamespaceContentRemaining',
          status: 'True',
          lastTransitionTime: now(),
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${remaining} objects`,
        },
      ];
      if (
        stable(fresh.status?.conditions?.map((c: Obj) => c.message)) !==
        stable(conditions.map((c) => c.message))
      ) {
        await this.updateSystem('/namespaces', fresh, (o) => {
          o.status = { ...o.status, conditions };
        });
      }
    }
  }

  /** CRD establishment (serve its types) and cleanup (delete its objects, then the CRD). */
  private async reconcileCrd(name: string): Promise<void> {
    const crd = this.store.get('apiextensions.k8s.io/customresourcedefinitions', '', name);
    const served = this.crdServed.get(name) ?? [];
    if (!crd) {
      if (served.length) {
        for (const t of served) this.types.delete(`${t.group}/${t.version}/${t.plural}`);
        this.crdServed.delete(name);
        this.store.dropKey(served[0]!.storageKey);
        for (const l of this.typeListeners) l();
      }
      return;
    }
    if (crd.metadata.deletionTimestamp) {
      const key = served[0]?.storageKey ?? `${crd.spec.group}/${crd.spec.names.plural}`;
      if (!crd.status?.conditions?.some((c: Obj) => c.type === 'Terminating')) {
        await this.updateSystem('apiextensions.k8s.io/customresourcedefinitions', crd, (o) => {
          o.status.conditions = [
            ...((o.status.conditions ?? []) as Obj[]).filter((c) => c.type !== 'Established'),
            {
              type: 'Established',
              status: 'False',
              lastTransitionTime: now(),
              reason: 'Terminating',
              message: 'the object is being deleted',
            },
            {
              type: 'Terminating',
              status: 'True',
              lastTransitionTime: now(),
              reason: 'InstanceDeletionInProgress',
              message: 'CustomResource deletion is in progress',
            },
          ];
        });
      }
      for (const ns of this.store.namespacesOf(key)) {
        for (const obj of this.store.list(key, ns))
          if (!obj.metadata.deletionTimestamp) await this.deleteSystem(key, ns, obj.metadata.name);
      }
      if (this.store.count(key) === 0) {
        const fresh = this.store.get('apiextensions.k8s.io/customresourcedefinitions', '', name);
        if (fresh) {
          await this.updateSystem('apiextensions.k8s.io/customresourcedefinitions', fresh, (o) => {
            o.metadata.finalizers = ((o.metadata.finalizers ?? []) as string[]).filter(
              (f) => f !== 'customresourcecleanup.apiextensions.k8s.io',
            );
          });
        }
      }
      return;
    }
    // (re)register the served versions
    const types = crdTypes(crd, this.hooks);
    for (const t of served) this.types.delete(`${t.group}/${t.version}/${t.plural}`);
    for (const t of types) this.types.set(`${t.group}/${t.version}/${t.plural}`, t);
    this.crdServed.set(name, types);
    for (const l of this.typeListeners) l();
    const established = (crd.status?.conditions ?? []).some(
      (c: Obj) => c.type === 'Established' && c.status === 'True',
    );
    if (!established) {
      await this.updateSystem('apiextensions.k8s.io/customresourcedefinitions', crd, (o) => {
        const t = now();
        o.status = {
          ...(o.status ?? {}),
          acceptedNames: o.spec.names,
          conditions: [
            {
              type: 'NamesAccepted',
              status: 'True',
              lastTransitionTime: t,
              reason: 'NoConflicts',
              message: 'no conflicts found',
            },
            {
              type: 'Established',
              status: 'True',
              lastTransitionTime: t,
              reason: 'InitialNamesAccepted',
              message: 'the initial names have been accepted',
            },
          ],
        };
      });
    } else if (stable(crd.status.acceptedNames) !== stable(crd.spec.names)) {
      await this.updateSystem('apiextensions.k8s.io/customresourcedefinitions', crd, (o) => {
        o.status = { ...o.status, acceptedNames: o.spec.names };
      });
    }
  }

  /** The service-account controller: every namespace has a `default` ServiceAccount. */
  private async defaultServiceAccount(namespace: string): Promise<void> {
    const ns = this.store.get('/namespaces', '', namespace);
    if (!ns || ns.metadata.deletionTimestamp || this.store.get('/serviceaccounts', namespace, 'default'))
      return;
    await this.bootstrap(this.typeFor('/serviceaccounts'), { metadata: { name: 'default', namespace } });
  }

  /** Creates an object as the system (bootstrap), bypassing admission. */
  async bootstrap(t: ResourceType, obj: Obj): Promise<Obj> {
    return this.create(t, obj.metadata?.namespace ?? '', obj, {
      user: SYSTEM_USER,
      fieldManager: 'kube-apiserver',
    });
  }

  /** Current time in the MicroTime format events and leases use. */
  static microNow = nowMicro;
}

class RetryWrite extends Error {}

/** Deleting and no finalizer left (a Namespace also waits for its `spec.finalizers`). */
function removable(key: string, obj: Obj): boolean {
  if (!obj.metadata.deletionTimestamp || ((obj.metadata.finalizers ?? []) as string[]).length) return false;
  return !(key === '/namespaces' && ((obj.spec?.finalizers ?? []) as string[]).length);
}

function defaultManager(ctx: WriteContext): string {
  return ctx.user.username.split(':').pop() || 'unknown';
}

function applyConflict(
  conflicts: { manager: string; field: string; message?: string }[],
  apiVersion: string,
): ApiError {
  const n = conflicts.length;
  const cause = (c: { manager: string; message?: string }): string =>
    c.message ?? `conflict with "${c.manager}" using ${apiVersion}`;
  const lines = conflicts.map((c) => `${cause(c)}: ${c.field}`);
  const message =
    n === 1
      ? `Apply failed with 1 conflict: ${lines[0]}`
      : `Apply failed with ${n} conflicts: ${lines.join('\n')}`;
  return new ApiError({
    message,
    reason: 'Conflict',
    details: {
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: cause(c), field: c.field })),
    },
    code: 409,
  });
}

function successStatus(t: ResourceType, obj: Obj): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: {
      name: obj.metadata.name,
      ...(t.group ? { group: t.group } : {}),
      kind: t.plural,
      uid: obj.metadata.uid,
    },
  };
}

/** Field paths present in `original` but removed by pruning (for fieldValidation Strict/Warn). */
export function unknownFields(original: unknown, pruned: unknown, path = ''): string[] {
  if (typeof original !== 'object' || original === null) return [];
  if (Array.isArray(original)) {
    if (!Array.isArray(pruned)) return [];
    return original.flatMap((v, i) => unknownFields(v, pruned[i], `${path}[${i}]`));
  }
  if (typeof pruned !== 'object' || pruned === null || Array.isArray(pruned)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(original)) {
    if (path === '' && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
    const p = path ? `${path}.${k}` : k;
    if (!(k in (pruned as Obj))) out.push(p);
    else out.push(...unknownFields(v, (pruned as Obj)[k], p));
  }
  return out;
}
