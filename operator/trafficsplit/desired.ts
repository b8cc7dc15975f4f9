/**
 * Desired-state builders of a TrafficSplit. Pure: the same inputs give equal output, so applying
 * twice changes nothing.
 */
import { API_VERSION } from '../api/common.js';
import { controllerRef } from '../runtime/ownership.js';
import { GATEWAY_API_VERSION, httpRouteName, ownerLabels } from './names.js';
import { assertWeights, type Weights } from './weights.js';

/** A TrafficSplit as read from the API server: name, namespace and uid present. */
export interface NamedTrafficSplit {
  metadata: { name: string; namespace: string; uid: string };
  spec: { targetRef: { name: string }; backends: { stable: { name: string }; canary: { name: string } } };
}

/**
 * The Service ports the route uses. The TrafficSplit names Services, not ports: the reconciler reads
 * them from the Services. `apex`, when set, limits the route to that port of the apex Service (a
 * GAMMA parentRef `port`); `stable` and `canary` are required, as Gateway API requires a port on a
 * Service backendRef.
 */
export interface RoutePorts {
  apex?: number;
  stable: number;
  canary: number;
}

export interface BackendRef {
  group: '';
  kind: 'Service';
  name: string;
  port: number;
  weight: number;
}

export interface HTTPRoute {
  apiVersion: typeof GATEWAY_API_VERSION;
  kind: 'HTTPRoute';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: ReturnType<typeof controllerRef>[];
  };
  spec: {
    parentRefs: { group: ''; kind: 'Service'; name: string; port?: number }[];
    rules: { backendRefs: BackendRef[] }[];
  };
}

/**
 * The Gateway API GAMMA HTTPRoute that carries `weights`: a producer route (in the TrafficSplit's
 * namespace, parentRef the apex Service), one rule, both backends always listed (a weight of 0
 * sends nothing), so any GAMMA-conformant mesh routes as the Meshwright control plane does.
 */
export function httpRoute(split: NamedTrafficSplit, weights: Weights, ports: RoutePorts): HTTPRoute {
  assertWeights(weights);
  const { name, namespace } = split.metadata;
  const { targetRef, backends } = split.spec;
  return {
    apiVersion: GATEWAY_API_VERSION,
    kind: 'HTTPRoute',
    metadata: {
      name: httpRouteName(split),
      namespace,
      labels: ownerLabels(split),
      ownerReferences: [
        controllerRef({
          apiVersion: API_VERSION,
          kind: 'TrafficSplit',
          metadata: { name, uid: split.metadata.uid },
        }),
      ],
    },
    spec: {
      parentRefs: [
        {
          group: '',
          kind: 'Service',
          name: targetRef.name,
          ...(ports.apex !== undefined ? { port: ports.apex } : {}),
        },
      ],
      rules: [
        {
          backendRefs: [
            {
              group: '',
              kind: 'Service',
              name: backends.stable.name,
              port: ports.stable,
              weight: weights.stable,
            },
            {
              group: '',
              kind: 'Service',
              name: backends.canary.name,
              port: ports.canary,
              weight: weights.canary,
            },
          ],
        },
      ],
    },
  };
}
