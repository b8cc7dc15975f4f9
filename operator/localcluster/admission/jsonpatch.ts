/**
 * RFC 6902 JSON Patch over RFC 6901 JSON Pointers, applied to plain JSON data: the only patch type a
 * mutating webhook may return. Pure: the input document is never modified.
 */

export class JsonPatchError extends Error {
  override readonly name = 'JsonPatchError';
}

type JsonObject = Record<string, unknown>;
type Container = JsonObject | unknown[];

/** Applies `operations` in order and returns the patched copy; throws JsonPatchError on the first failure. */
export function applyJsonPatch(document: unknown, operations: readonly unknown[]): unknown {
  let doc = structuredClone(document);
  operations.forEach((operation, index) => {
    doc = applyOperation(doc, operation, index);
  });
  return doc;
}

function applyOperation(doc: unknown, operation: unknown, index: number): unknown {
  if (!isObject(operation)) throw new JsonPatchError(`operation ${index} is not an object`);
  const op = operation.op;
  const path = pointerField(operation, 'path', op, index);
  switch (op) {
    case 'add':
      return add(doc, path, requiredValue(operation, op, index));
    case 'remove':
      return remove(doc, path, op);
    case 'replace': {
      const value = requiredValue(operation, op, index);
      resolve(doc, path, op);
      return path.length === 0 ? value : set(doc, path, value, op);
    }
    case 'move': {
      const from = pointerField(operation, 'from', op, index);
      if (from.length < path.length && from.every((token, i) => token === path[i])) {
        throw new JsonPatchError(
          `move operation cannot move ${render(from)} into its own child ${render(path)}`,
        );
      }
      const value = resolve(doc, from, op);
      return add(remove(doc, from, op), path, value);
    }
    case 'copy': {
      const from = pointerField(operation, 'from', op, index);
      return add(doc, path, structuredClone(resolve(doc, from, op)));
    }
    case 'test': {
      const expected = requiredValue(operation, op, index);
      if (!jsonEqual(resolve(doc, path, op), expected)) {
        throw new JsonPatchError(`test operation for path ${render(path)} failed: value differs`);
      }
      return doc;
    }
    default:
      throw new JsonPatchError(`operation ${index} has unknown op ${JSON.stringify(op)}`);
  }
}

function add(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = parentOf(doc, path, 'add');
  const token = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const at = token === '-' ? parent.length : arrayIndex(token, parent.length + 1, path, 'add');
    parent.splice(at, 0, value);
  } else {
    setOwn(parent, token, value);
  }
  return doc;
}

function remove(doc: unknown, path: readonly string[], op: string): unknown {
  if (path.length === 0) throw new JsonPatchError(`${op} operation cannot remove the whole document`);
  const parent = parentOf(doc, path, op);
  const token = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(token, parent.length, path, op), 1);
  } else {
    if (!Object.hasOwn(parent, token)) throw missing(op, path);
    delete parent[token];
  }
  return doc;
}

function set(doc: unknown, path: readonly string[], value: unknown, op: string): unknown {
  const parent = parentOf(doc, path, op);
  const token = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[arrayIndex(token, parent.length, path, op)] = value;
  else setOwn(parent, token, value);
  return doc;
}

/** The value at `path`; throws when any step of it is missing. */
function resolve(doc: unknown, path: readonly string[], op: string): unknown {
  let node = doc;
  for (const [depth, token] of path.entries()) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, path.slice(0, depth + 1), op)];
    else if (isObject(node) && Object.hasOwn(node, token)) node = node[token];
    else throw missing(op, path);
  }
  return node;
}

function parentOf(doc: unknown, path: readonly string[], op: string): Container {
  const parent = resolve(doc, path.slice(0, -1), op);
  if (Array.isArray(parent) || isObject(parent)) return parent;
  throw new JsonPatchError(`${op} operation does not apply: ${render(path.slice(0, -1))} is not a container`);
}

/** A decimal array index without leading zeros, below `limit`. */
function arrayIndex(token: string, limit: number, path: readonly string[], op: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new JsonPatchError(
      `${op} operation does not apply: invalid array index ${JSON.stringify(token)} in ${render(path)}`,
    );
  }
  const index = Number(token);
  if (index >= limit)
    throw new JsonPatchError(`${op} operation does not apply: index out of range in ${render(path)}`);
  return index;
}

/** Own-property write that a key such as `__proto__` cannot turn into a prototype change. */
function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function pointerField(operation: JsonObject, field: 'path' | 'from', op: unknown, index: number): string[] {
  const pointer = operation[field];
  if (typeof pointer !== 'string') {
    throw new JsonPatchError(`operation ${index} (${String(op)}) is missing a string "${field}"`);
  }
  return parsePointer(pointer);
}

/** RFC 6901: "" is the whole document; each `/`-separated token unescapes `~1` to `/`, then `~0` to `~`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new JsonPatchError(`JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token))
        throw new JsonPatchError(`JSON pointer ${JSON.stringify(pointer)} has a bad escape`);
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

function render(path: readonly string[]): string {
  return JSON.stringify(path.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join(''));
}

function requiredValue(operation: JsonObject, op: string, index: number): unknown {
  if (!Object.hasOwn(operation, 'value'))
    throw new JsonPatchError(`operation ${index} (${op}) is missing "value"`);
  return operation.value;
}

function missing(op: string, path: readonly string[]): JsonPatchError {
  return new JsonPatchError(`${op} operation does not apply: doc is missing path: ${render(path)}`);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Equality of JSON values: object key order does not matter, array order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]))
    );
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
  );
}
