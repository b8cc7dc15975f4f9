import { z } from 'zod';
import { API_VERSION, GROUP, objectMeta } from './common.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindInfo<Spec extends z.ZodType, Status extends z.ZodType> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  printerColumns: PrinterColumn[];
  spec: Spec;
  status: Status;
}

/**
 * One kind of the Meshwright API: its names, its printer columns and the zod schemas of spec and
 * status. `resource` validates a whole object as the operator reads it from the API server.
 */
export function defineKind<Spec extends z.ZodType, Status extends z.ZodType>(info: KindInfo<Spec, Status>) {
  const resource = z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(info.kind),
    metadata: objectMeta,
    spec: info.spec,
    status: info.status.optional(),
  });
  return { ...info, group: GROUP, crdName: `${info.plural}.${GROUP}`, resource };
}

export type Kind = ReturnType<typeof defineKind>;
