import { z } from 'zod';
import { VERSION } from './common.js';
import type { Kind } from './kind.js';

/** A JSON Schema node as `z.toJSONSchema` writes it, or a Kubernetes OpenAPI v3 node once converted. */
export type SchemaNode = { [key: string]: unknown };

const INT32 = { min: -2147483648, max: 2147483647 };

/**
 * Turns zod's JSON Schema (draft 2020-12) into a Kubernetes *structural* schema: every node has a
 * type, no `$ref`, no `anyOf` except what Kubernetes understands, no `additionalProperties: false`,
 * OpenAPI v3.0 forms of `const` and exclusive bounds. Anything it cannot translate is an error
 * rather than a silently looser CRD.
 */
export function toStructural(node: SchemaNode, path = ''): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames':
        break; // not part of OpenAPI v3 / implied by Kubernetes maps
      case 'additionalProperties':
        if (value !== false) out[key] = toStructural(value as SchemaNode, `${path}[*]`);
        break;
      case 'properties':
        out[key] = Object.fromEntries(
          Object.entries(value as Record<string, SchemaNode>).map(([name, child]) => [
            name,
            toStructural(child, `${path}.${name}`),
          ]),
        );
        break;
      case 'items':
        out[key] = toStructural(value as SchemaNode, `${path}[*]`);
        break;
      case 'anyOf':
        Object.assign(out, fromAnyOf(value as SchemaNode[], path));
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
        out[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
        out[key] = true;
        break;
      case '$ref':
      case '$defs':
      case 'oneOf':
      case 'allOf':
      case 'not':
        throw new Error(`${path || '<root>'}: ${key} cannot be expressed in a structural schema`);
      default:
        out[key] = value;
    }
  }
  if (Array.isArray(out.type)) {
    throw new Error(
      `${path || '<root>'}: a union of ${out.type.join(', ')} is not structural; only int-or-string is`,
    );
  }
  if (out.type === 'integer') narrowInteger(out);
  if (out.format === 'date-time') delete out.pattern; // zod's pattern is JS-flavoured; the format says it all
  if (
    out.type === undefined &&
    out['x-kubernetes-int-or-string'] !== true &&
    out['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    throw new Error(`${path || '<root>'}: no type (every node of a structural schema needs one)`);
  }
  return out;
}

/** `z.union([z.int(), z.string()])` is Kubernetes' int-or-string; no other union is structural. */
function fromAnyOf(branches: SchemaNode[], path: string): SchemaNode {
  const types = branches.map((b) => b.type).sort();
  if (types.length === 2 && types[0] === 'integer' && types[1] === 'string') {
    // JSON Schema applies numeric bounds to numbers only and string bounds to strings only, so the
    // constraints of both branches can sit on the one node.
    const merged: SchemaNode = { 'x-kubernetes-int-or-string': true };
    for (const branch of branches) {
      const { type: _type, ...constraints } = toStructural(branch, path);
      if (constraints.format === 'int32' || constraints.format === 'int64') delete constraints.format;
      Object.assign(merged, constraints);
    }
    return merged;
  }
  throw new Error(`${path}: a union of ${types.join(', ')} is not structural; only int-or-string is`);
}

/** Drops zod's safe-integer bounds and says `int32` / `int64` as Kubernetes schemas do. */
function narrowInteger(node: SchemaNode): void {
  const min = typeof node.minimum === 'number' ? node.minimum : Number.MIN_SAFE_INTEGER;
  const max = typeof node.maximum === 'number' ? node.maximum : Number.MAX_SAFE_INTEGER;
  node.format ??= min >= INT32.min && max <= INT32.max ? 'int32' : 'int64';
  if (node.minimum === Number.MIN_SAFE_INTEGER || (node.format === 'int32' && node.minimum === INT32.min))
    delete node.minimum;
  if (node.maximum === Number.MAX_SAFE_INTEGER || (node.format === 'int32' && node.maximum === INT32.max))
    delete node.maximum;
}

/** Every property needs a description: `kubectl explain` and OperatorHub read them. */
export function undescribedFields(node: SchemaNode, path = ''): string[] {
  const missing: string[] = [];
  if (path && typeof node.description !== 'string') missing.push(path);
  const props = node.properties as Record<string, SchemaNode> | undefined;
  for (const [name, child] of Object.entries(props ?? {}))
    missing.push(...undescribedFields(child, `${path}.${name}`));
  if (node.items) missing.push(...undescribedFields(node.items as SchemaNode, `${path}[*]`));
  return missing;
}

export function openAPISchemaOf(kind: Kind): SchemaNode {
  const section = (schema: z.ZodType, name: string) => {
    const node = toStructural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }), `.${name}`);
    const missing = undescribedFields(node, `.${name}`);
    if (missing.length) throw new Error(`${kind.kind}: fields without a description: ${missing.join(', ')}`);
    return node;
  };
  return {
    type: 'object',
    description: kind.description,
    required: ['spec'],
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { type: 'object' },
      spec: section(kind.spec, 'spec'),
      status: section(kind.status, 'status'),
    },
  };
}

/** The CustomResourceDefinition of a kind, ready for `kubectl apply`. */
export function customResourceDefinition(kind: Kind): SchemaNode {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: kind.crdName,
      labels: { 'app.kubernetes.io/name': 'meshwright', 'app.kubernetes.io/part-of': 'meshwright' },
    },
    spec: {
      group: kind.group,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: kind.shortNames,
        categories: ['meshwright'],
      },
      scope: kind.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.printerColumns,
          schema: { openAPIV3Schema: openAPISchemaOf(kind) },
        },
      ],
    },
  };
}
