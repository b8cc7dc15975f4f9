/**
 * The ServicePolicy as the rest of this folder sees it: read from the API server, so the identity
 * fields of its metadata are present. Narrowed once, here, instead of `metadata!` everywhere.
 */
import type { ServicePolicyResource, ServicePolicySpec } from '../api/index.js';

export type ServicePolicy = ServicePolicyResource & {
  metadata: ServicePolicyResource['metadata'] & {
    name: string;
    namespace: string;
    uid: string;
    /** RFC 3339; absent only on an object that was never stored. */
    creationTimestamp?: string;
  };
};

export type Access = NonNullable<ServicePolicySpec['access']>;
export type Rule = NonNullable<Access['rules']>[number];
export type Source = NonNullable<Rule['from']>[number];
export type Destination = NonNullable<Rule['to']>[number];
export type PortRef = NonNullable<Destination['ports']>[number];

/** Narrows a ServicePolicy read from the API server; throws on one that lacks name, namespace or uid. */
export function asServicePolicy(resource: ServicePolicyResource): ServicePolicy {
  const { name, namespace, uid, creationTimestamp } = resource.metadata;
  if (typeof name !== 'string' || typeof namespace !== 'string' || typeof uid !== 'string') {
    throw new TypeError(
      `ServicePolicy needs metadata.name, metadata.namespace and metadata.uid (got ${String(namespace)}/${String(name)})`,
    );
  }
  if (creationTimestamp !== undefined && typeof creationTimestamp !== 'string') {
    throw new TypeError(`ServicePolicy ${namespace}/${name}: metadata.creationTimestamp must be a string`);
  }
  return { ...resource, metadata: { ...resource.metadata, name, namespace, uid } };
}
