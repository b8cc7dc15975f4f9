/**
 * Test fixtures: functions with overrides. Policies go through the API's zod schema, so they carry
 * the defaults the API server would fill in and a fixture the CRD would refuse fails loudly.
 */
import type { z } from 'zod';
import { API_VERSION, ServicePolicy as ServicePolicyKind, type ServicePolicyStatus } from '../api/index.js';
import type { ServicePolicy } from './policy.js';
import { asServicePolicy } from './policy.js';
import type { Service, ServicePort } from './validate.js';

type SpecInput = z.input<typeof ServicePolicyKind.spec>;
export type AccessInput = NonNullable<SpecInput['access']>;
export type RuleInput = NonNullable<AccessInput['rules']>[number];

export interface PolicyOverrides {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  /** The target Service's name (`checkout`). */
  target?: string;
  /** Merged over the default access section; `null` leaves `access` out. */
  access?: Partial<AccessInput> | null;
  /** Shorthand for `access.rules`. */
  rules?: RuleInput[];
  resilience?: SpecInput['resilience'];
  status?: ServicePolicyStatus;
}

/** A rule allowing `shop/storefront` on the `http` port. */
export const storefrontRule = (overrides: Partial<RuleInput> = {}): RuleInput => ({
  name: 'storefront',
  action: 'Allow',
  from: [{ serviceAccounts: ['shop/storefront'] }],
  to: [{ ports: ['http'] }],
  ...overrides,
});

export function servicePolicy(o: PolicyOverrides = {}): ServicePolicy {
  const access: AccessInput | undefined =
    o.access === null
      ? undefined
      : { defaultAction: 'Deny', rules: o.rules ?? [storefrontRule()], ...(o.access ?? {}) };
  const resource = ServicePolicyKind.resource.parse({
    apiVersion: API_VERSION,
    kind: 'ServicePolicy',
    metadata: {
      name: o.name ?? 'checkout',
      namespace: o.namespace ?? 'shop',
      uid: o.uid ?? `uid-${o.name ?? 'checkout'}`,
      generation: o.generation ?? 1,
      creationTimestamp: o.creationTimestamp ?? '2025-01-01T00:00:00Z',
      ...(o.deletionTimestamp ? { deletionTimestamp: o.deletionTimestamp } : {}),
    },
    spec: {
      targetRef: { kind: 'Service', name: o.target ?? 'checkout' },
      ...(access ? { access } : {}),
      ...(o.resilience ? { resilience: o.resilience } : {}),
    },
    ...(o.status ? { status: o.status } : {}),
  });
  return asServicePolicy(resource);
}

export interface ServiceOverrides {
  name?: string;
  namespace?: string;
  /** `null` leaves the selector out. */
  selector?: Record<string, string> | null;
  ports?: ServicePort[];
}

/**
 * The `checkout` Service: `http` 80 → 8080, `grpc` 9090 → the container port named `grpc-web`,
 * `dns` 53/UDP (no targetPort: the same number).
 */
export function service(o: ServiceOverrides = {}): Service {
  const selector = o.selector === null ? undefined : (o.selector ?? { app: 'checkout' });
  return {
    metadata: { name: o.name ?? 'checkout', namespace: o.namespace ?? 'shop' },
    spec: {
      ...(selector ? { selector } : {}),
      ports: o.ports ?? [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'grpc', port: 9090, targetPort: 'grpc-web', protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    },
  };
}

export const mesh = (o: { metricsPort?: number; trustDomain?: string } = {}) => ({
  mesh: { controlPlaneNamespace: 'meshwright-system', ...o },
});
