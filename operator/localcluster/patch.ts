/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- Kubernetes objects are untyped JSON here (Obj) */
/**
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic merge patch for built-in kinds.
 *
 * The strategic merge patch is a simplification of k8s.io/apimachinery's: it is a merge patch
 * except that lists named in `MERGE_KEYS` are merged element-wise by their merge key
 * (containers/initContainers/volumes/env/volumeMounts/... by `name`, ports by `containerPort` or
 * `port`, conditions by `type`, ownerReferences by `uid`), `metadata.finalizers` is merged as a set,
 * and the directives `$patch: delete|replace`, `$deleteFromPrimitiveList/<field>` and
 * `$setElementOrder/<field>` are honoured (the latter only to drop it); `$retainKeys` is ignored.
 */
import { badRequest, invalid } from './errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const MERGE_KEYS: Record<string, string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  env: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  imagePullSecrets: ['name'],
  ports: ['containerPort', 'port'],
  conditions: ['type'],
  ownerReferences: ['uid'],
  hostAliases: ['ip'],
  topologySpreadConstraints: ['topologyKey'],
  secrets: ['name'],
};
const SET_LISTS = new Set(['finalizers']);

function mergeKeyFor(field: string, items: Json[]): string | undefined {
  const keys = MERGE_KEYS[field];
  if (!keys) return undefined;
  return keys.find((k) => items.some((i) => isObject(i) && k in i)) ?? keys[0];
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v))
        out[field] = out[field].filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = out[k];
      const key = mergeKeyFor(k, [...v, ...(Array.isArray(cur) ? cur : [])]);
      if (key && Array.isArray(cur)) out[k] = mergeList(cur, v, key);
      else if (SET_LISTS.has(k) && Array.isArray(cur))
        out[k] = [...cur, ...v.filter((x) => !cur.includes(x))];
      else out[k] = v.map(stripDirectives).filter((x) => x !== undefined);
    } else if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function mergeList(cur: Json[], patch: Json[], key: string): Json[] {
  const out = [...cur];
  for (const item of patch) {
    if (!isObject(item) || !(key in item)) {
      out.push(item);
      continue;
    }
    const i = out.findIndex((x) => isObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = strategicMergePatch(out[i], item);
    } else {
      out.push(stripDirectives(item));
    }
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Record<string, Json> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = stripDirectives(x);
  return out;
}

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw badRequest(
      `the server rejected our request due to an error in our request: invalid JSON pointer "${path}"`,
    );
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902. Errors are 422 like the real server's (`the server rejected our request due to an error in our request`). */
export function jsonPatch(doc: Json, ops: unknown, kind: string, name: string): Json {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let root = structuredClone(doc);
  const fail = (message: string): never => {
    throw invalid(
      '',
      kind,
      name,
      [{ message }],
      `the server rejected our request due to an error in our request`,
    );
  };
  const get = (path: string[]): Json => {
    let cur = root;
    for (const seg of path) {
      if (Array.isArray(cur)) cur = cur[Number(seg)];
      else if (isObject(cur)) cur = cur[seg];
      else return undefined;
    }
    return cur;
  };
  const parentOf = (path: string[]): [Json, string] => {
    const parent = get(path.slice(0, -1));
    if (parent === undefined || typeof parent !== 'object' || parent === null) {
      fail(`doc is missing path: "/${path.join('/')}": missing value`);
    }
    return [parent, path[path.length - 1]!];
  };
  const add = (path: string[], value: Json): void => {
    if (path.length === 0) {
      root = value;
      return;
    }
    const [parent, last] = parentOf(path);
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length)
        fail(`add operation does not apply: doc is missing path: "/${path.join('/')}": missing value`);
      parent.splice(i, 0, value);
    } else parent[last] = value;
  };
  const remove = (path: string[]): Json => {
    const [parent, last] = parentOf(path);
    if (Array.isArray(parent)) {
      const i = Number(last);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length)
        fail(`unable to remove nonexistent key: ${last}: missing value`);
      return parent.splice(i, 1)[0];
    }
    if (!(last in parent)) fail(`unable to remove nonexistent key: ${last}: missing value`);
    const v = parent[last];
    delete parent[last];
    return v;
  };
  for (const op of ops as Operation[]) {
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        add(path, structuredClone(op.value));
        break;
      case 'remove':
        remove(path);
        break;
      case 'replace': {
        if (get(path) === undefined)
          fail(`replace operation does not apply: doc is missing key: /${path.join('/')}: missing value`);
        remove(path);
        add(path, structuredClone(op.value));
        break;
      }
      case 'move': {
        const v = remove(parsePointer(op.from ?? ''));
        add(path, v);
        break;
      }
      case 'copy':
        add(path, structuredClone(get(parsePointer(op.from ?? ''))));
        break;
      case 'test':
        if (JSON.stringify(canonical(get(path))) !== JSON.stringify(canonical(op.value))) {
          fail(`testing value /${path.join('/')} failed: test failed`);
        }
        break;
      default:
        fail(`Unexpected kind: ${op.op}`);
    }
  }
  return root;
}

function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}
