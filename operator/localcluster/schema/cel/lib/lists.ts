/**
 * Kubernetes' CEL list library (isSorted, sum, min, max, indexOf, lastIndexOf), cel-go's lists extension
 * (slice, flatten, distinct, reverse, sort, lists.range) and its sets extension.
 */
import type { Environment } from '@marcbachmann/cel-js';
import { celError } from '../errors.js';
import { celCompare, celDuration, celEquals, durationMillis, isCelDuration } from '../values.js';

class SetsNamespace {}
class ListsNamespace {}

export function registerLists(env: Environment): void {
  env
    .registerFunction('list.isSorted(): bool', (list: unknown[]) =>
      list.every((v, i) => i === 0 || celCompare(list[i - 1], v) <= 0),
    )
    .registerFunction('list.sum(): dyn', sum)
    .registerFunction('list.min(): dyn', (list: unknown[]) => extreme(list, 'min', -1))
    .registerFunction('list.max(): dyn', (list: unknown[]) => extreme(list, 'max', 1))
    .registerFunction('list.indexOf(dyn): int', (list: unknown[], v: unknown) =>
      BigInt(list.findIndex((x) => celEquals(x, v))),
    )
    .registerFunction('list.lastIndexOf(dyn): int', (list: unknown[], v: unknown) =>
      BigInt(list.findLastIndex((x) => celEquals(x, v))),
    )
    .registerFunction('list.slice(int, int): list', slice)
    .registerFunction('list.flatten(): list', (list: unknown[]) => flatten(list, 1))
    .registerFunction('list.flatten(int): list', (list: unknown[], depth: bigint) =>
      flatten(list, Number(depth)),
    )
    .registerFunction('list.distinct(): list', (list: unknown[]) =>
      list.filter((v, i) => list.findIndex((x) => celEquals(x, v)) === i),
    )
    .registerFunction('list.reverse(): list', (list: unknown[]) => [...list].reverse())
    .registerFunction('list.sort(): list', (list: unknown[]) => [...list].sort(celCompare))
    .registerType('k8s.ListsNamespace', ListsNamespace)
    .registerConstant('lists', 'k8s.ListsNamespace', new ListsNamespace())
    .registerFunction('k8s.ListsNamespace.range(int): list<int>', (_ns: ListsNamespace, n: bigint) =>
      Array.from({ length: Number(n) }, (_, i) => BigInt(i)),
    )
    .registerType('k8s.SetsNamespace', SetsNamespace)
    .registerConstant('sets', 'k8s.SetsNamespace', new SetsNamespace())
    .registerFunction(
      'k8s.SetsNamespace.contains(list, list): bool',
      (_ns: SetsNamespace, a: unknown[], b: unknown[]) => b.every((x) => a.some((y) => celEquals(x, y))),
    )
    .registerFunction(
      'k8s.SetsNamespace.equivalent(list, list): bool',
      (_ns: SetsNamespace, a: unknown[], b: unknown[]) =>
        b.every((x) => a.some((y) => celEquals(x, y))) && a.every((x) => b.some((y) => celEquals(x, y))),
    )
    .registerFunction(
      'k8s.SetsNamespace.intersects(list, list): bool',
      (_ns: SetsNamespace, a: unknown[], b: unknown[]) => a.some((x) => b.some((y) => celEquals(x, y))),
    );
}

function slice(list: unknown[], start: bigint, end: bigint): unknown[] {
  if (start < 0n || end < start || end > BigInt(list.length)) {
    celError(`cannot slice(${start}, ${end}), list has ${list.length} elements`);
  }
  return list.slice(Number(start), Number(end));
}

function flatten(list: unknown[], depth: number): unknown[] {
  if (depth < 0) celError('level must be non-negative');
  return list.flatMap((v) => (Array.isArray(v) && depth > 0 ? flatten(v, depth - 1) : [v]));
}

function sum(list: unknown[]): unknown {
  if (list.length === 0) return 0n;
  const [first] = list;
  if (typeof first === 'bigint') return list.reduce<bigint>((acc, v) => acc + (v as bigint), 0n);
  if (typeof first === 'number') return list.reduce<number>((acc, v) => acc + Number(v), 0);
  if (typeof first === 'object' && first !== null && isCelDuration(first)) {
    return celDuration(list.reduce<number>((acc, v) => acc + durationMillis(v as object), 0));
  }
  return celError('no such overload');
}

function extreme(list: unknown[], name: string, sign: 1 | -1): unknown {
  if (list.length === 0) celError(`${name} called on empty list`);
  return list.reduce((best, v) => (celCompare(v, best) * sign > 0 ? v : best));
}
