/** The built-in Kubernetes resources the reconcilers read and write, described once. */
import type { ResourceType } from './client.js';

const type = (apiVersion: string, kind: string, plural: string, namespaced: boolean): ResourceType => ({
  apiVersion,
  kind,
  plural,
  namespaced,
});

export const Namespaces = type('v1', 'Namespace', 'namespaces', false);
export const ServiceAccounts = type('v1', 'ServiceAccount', 'serviceaccounts', true);
export const ConfigMaps = type('v1', 'ConfigMap', 'configmaps', true);
export const Services = type('v1', 'Service', 'services', true);
export const Secrets = type('v1', 'Secret', 'secrets', true);
export const Pods = type('v1', 'Pod', 'pods', true);
export const Deployments = type('apps/v1', 'Deployment', 'deployments', true);
export const NetworkPolicies = type('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true);
export const PodDisruptionBudgets = type('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true);
export const EndpointSlices = type('discovery.k8s.io/v1', 'EndpointSlice', 'endpointslices', true);
