/**
 * The labels of the workload-identity Certificates and of the Secrets cert-manager writes for them.
 * The Certificate's name and the SPIFFE ID come from `../names.ts` (the injector reads them too);
 * this file only holds what the identity controller alone spells.
 *
 * `meshwright.io/owner-kind: ServiceAccount` keeps these apart from every other Meshwright child:
 * the MeshInstallation's informers select `!meshwright.io/owner-kind`, the ServicePolicy's select
 * `meshwright.io/owner-kind=ServicePolicy`, so no controller caches (or prunes) another's objects.
 */
import { labelValue } from '../../runtime/names.js';
import { MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL } from '../../runtime/reconcile.js';

export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const COMPONENT = 'identity';
export const OWNER_KIND_LABEL = 'meshwright.io/owner-kind';
export const OWNER_KIND = 'ServiceAccount';

/** The controller's name in logs, metrics and Events. */
export const CONTROLLER_NAME = 'identity';

/** The labels of a ServiceAccount's Certificate and of its Secret (through `secretTemplate`). */
export const identityLabels = (serviceAccount: string): Record<string, string> => ({
  [MANAGED_BY_LABEL]: MANAGED_BY,
  [COMPONENT_LABEL]: COMPONENT,
  [OWNER_LABEL]: labelValue(serviceAccount),
  [OWNER_KIND_LABEL]: OWNER_KIND,
});

/** Every identity Certificate (and Secret), whatever its ServiceAccount: what the Certificate informer watches. */
export const IDENTITY_SELECTOR = [
  `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
  `${COMPONENT_LABEL}=${COMPONENT}`,
  `${OWNER_KIND_LABEL}=${OWNER_KIND}`,
].join(',');

/** Event reasons on the ServiceAccount. */
export const REASONS = {
  applied: 'IdentityCertificateApplied',
  certManagerNotInstalled: 'CertManagerNotInstalled',
} as const;
