/** Identity strings kube-apiserver builds for service accounts (k8s.io/apiserver/pkg/authentication/serviceaccount). */

export const serviceAccountUsername = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;

export const serviceAccountGroups = (namespace: string): string[] => [
  'system:serviceaccounts',
  `system:serviceaccounts:${namespace}`,
];
