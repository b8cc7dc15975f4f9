/** Fixtures shared by this package's tests: a resource schema around a `spec` schema, and objects for it. */
import type { JSONSchemaProps } from './types.js';

export function resourceSchema(spec: JSONSchemaProps, extra: JSONSchemaProps = {}): JSONSchemaProps {
  return {
    type: 'object',
    ...extra,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec,
      ...extra.properties,
    },
  };
}

export function objectSchema(
  properties: Record<string, JSONSchemaProps>,
  extra: JSONSchemaProps = {},
): JSONSchemaProps {
  return { type: 'object', properties, ...extra };
}

export function resource(spec: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'mesh.meshwright.io/v1alpha1',
    kind: 'TrafficSplit',
    metadata: { name: 'x' },
    spec,
    ...overrides,
  };
}
