/**
 * Workload identities, pure: the cert-manager Certificate of a ServiceAccount, and which pods need
 * one. No client, no clock: the same input gives deep-equal output, so the reconcile that applies
 * it twice writes once.
 *
 * One Certificate per ServiceAccount (not per pod): the SPIFFE ID names the ServiceAccount, so every
 * pod running under it presents the same identity, and a Deployment scaled to a hundred replicas
 * costs cert-manager one issuance per rotation, not a hundred. Its Secret has the Certificate's
 * name (`identityCertificateName`), which is what the injector mounts at `IDENTITY_DIR`.
 */
import {
  Certificate,
  type ICertificate,
} from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { privateKey } from '../../meshinstallation/desired.js';
import type { OwnerReference } from '../../runtime/ownership.js';
import { identityCertificateName, SERVICE_ACCOUNT_LABEL, spiffeId } from '../names.js';
import { identityLabels } from './names.js';
import type { IdentitySettings, KeyAlgorithm } from './settings.js';

/** A Certificate as the builder returns it: plain JSON, named, labelled and owned. */
export type WorkloadCertificate = ICertificate & {
  apiVersion: 'cert-manager.io/v1';
  kind: 'Certificate';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ownerReferences: OwnerReference[];
  };
};

/** A ServiceAccount as the owner of its Certificate: what the API server returned (name and uid). */
export interface ServiceAccountIdentity {
  name: string;
  uid: string;
}

type Usage = NonNullable<NonNullable<ICertificate['spec']>['usages']>[number];

/**
 * Both `server auth` and `client auth`: in mTLS every workload is a server to its callers and a
 * client of what it calls, with the same certificate. `key encipherment` only for RSA keys: it
 * means RSA key transport, and RFC 8813 (EC) and RFC 8410 (Ed25519) forbid asserting it for other
 * keys — cert-manager's default usages include it whatever the key, which a strict verifier may
 * refuse.
 */
export function certificateUsages(keyAlgorithm: KeyAlgorithm): Usage[] {
  const rsa = keyAlgorithm === 'RSA2048' || keyAlgorithm === 'RSA4096';
  return ['digital signature', ...(rsa ? (['key encipherment'] as const) : []), 'server auth', 'client auth'];
}

/**
 * The controller reference to the ServiceAccount, without `blockOwnerDeletion`: nothing is gained by
 * holding a ServiceAccount's foreground deletion until its Certificate is gone, and setting it
 * needs `update` on `serviceaccounts/finalizers` wherever the OwnerReferencesPermissionEnforcement
 * admission plugin runs (OpenShift) — a permission the control plane should not hold.
 */
export const serviceAccountRef = (sa: ServiceAccountIdentity): OwnerReference => ({
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  name: sa.name,
  uid: sa.uid,
  controller: true,
});

/**
 * The identity Certificate of `serviceAccount` in `namespace`.
 *
 * - `uris: [spiffeId]` and nothing else: an X.509-SVID's identity is its one URI SAN (no common
 *   name, no DNS names: callers are authorised by identity, never by host name).
 * - `privateKey.rotationPolicy: Always`: every renewal brings a new key, so a leaked key is only
 *   good until the next rotation.
 * - `revisionHistoryLimit: 1`: a renewal every `duration - renewBefore` (16 h by default) for every
 *   ServiceAccount would otherwise pile up CertificateRequests on cert-manager versions whose
 *   default keeps them all.
 * - `secretTemplate.labels`: the Secret carries the same labels, so `kubectl get secret -l
 *   app.kubernetes.io/component=identity` finds every workload identity — and the ones a deleted
 *   ServiceAccount left behind (cert-manager deletes a Secret with its Certificate only when it runs
 *   with `--enable-certificate-owner-ref`).
 * - The controller ownerReference to the ServiceAccount: deleting the ServiceAccount deletes its
 *   Certificate (garbage collection), and no other controller claims it.
 *
 * Built with `@kubernetes-models/cert-manager` and validated against the CRD schema: an invalid
 * object is a bug here, not something to send to the API server. `settings` are trusted to be
 * parsed (`parseIdentitySettings`).
 */
export function workloadCertificate(
  namespace: string,
  serviceAccount: ServiceAccountIdentity,
  settings: IdentitySettings,
): WorkloadCertificate {
  const name = identityCertificateName(serviceAccount.name);
  const labels = identityLabels(serviceAccount.name);
  const model = new Certificate({
    metadata: { name, namespace, labels, ownerReferences: [serviceAccountRef(serviceAccount)] },
    spec: {
      secretName: name,
      uris: [spiffeId(settings.trustDomain, namespace, serviceAccount.name)],
      duration: settings.duration,
      renewBefore: settings.renewBefore,
      privateKey: privateKey(settings.keyAlgorithm),
      usages: certificateUsages(settings.keyAlgorithm),
      revisionHistoryLimit: 1,
      secretTemplate: { labels: { ...labels } },
      issuerRef: { ...settings.issuerRef },
    },
  });
  model.validate();
  return model.toJSON() as WorkloadCertificate;
}

// ------------------------------------------------------------------------------ which pods need one

/** What the controller reads of a pod. */
export interface PodShape {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  spec?: { serviceAccountName?: string };
  status?: { phase?: string };
}

/**
 * The ServiceAccount a meshed pod runs as: `spec.serviceAccountName` (immutable, and what the
 * kubelet and the injector go by), else the injector's label, else `default` (the API server's
 * ServiceAccount admission sets it before any webhook runs, so only hand-made objects lack it).
 * Not the label first: a label value is capped at 63 characters, a ServiceAccount name is not.
 */
export function podServiceAccount(pod: PodShape): string {
  return pod.spec?.serviceAccountName || pod.metadata?.labels?.[SERVICE_ACCOUNT_LABEL] || 'default';
}

/** `namespace/serviceAccount`: the controller's key for a meshed pod's identity. */
export function podIdentityKey(pod: PodShape): string | undefined {
  const ns = pod.metadata?.namespace;
  return ns ? `${ns}/${podServiceAccount(pod)}` : undefined;
}

/**
 * Whether the pod still needs its identity: any phase but `Succeeded` and `Failed`. A `Pending` pod
 * above all, since it cannot start until the Secret it mounts exists; a terminating one too, until
 * it is gone (it still serves while it drains).
 */
export const needsIdentity = (pod: PodShape): boolean =>
  pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
