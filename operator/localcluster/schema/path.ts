/**
 * Field paths rendered exactly like k8s.io/apimachinery's `field.Path`: `spec.rules[0].name`,
 * map keys as `metadata.labels[app]`, and the nil path (errors not tied to a field) as `<nil>`.
 */
export type FieldPath = string | null;

export const nilPath: FieldPath = null;

export function child(parent: FieldPath, name: string): FieldPath {
  return parent === null ? name : `${parent}.${name}`;
}

export function index(parent: FieldPath, i: number): FieldPath {
  return `${parent ?? ''}[${i}]`;
}

export function key(parent: FieldPath, k: string): FieldPath {
  return `${parent ?? ''}[${k}]`;
}

export function renderPath(path: FieldPath): string {
  return path ?? '<nil>';
}
