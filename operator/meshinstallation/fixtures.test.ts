/**
 * Test fixtures (imported by the other test files; this file has no tests of its own). Objects are
 * parsed with the API's own schema, so every default is filled exactly as the API server fills it.
 */
import type { z } from 'zod';
import { API_VERSION } from '../api/common.js';
import {
  MeshInstallation,
  type MeshInstallationStatus,
  type meshInstallationSpec,
} from '../api/meshinstallation.js';
import { asNamed, type NamedMeshInstallation } from './names.js';
import type { MeshObservations } from './status.js';
import type { MigrationWorkload } from './migration.js';

export type SpecInput = z.input<typeof meshInstallationSpec>;

export interface MeshInstallationOverrides {
  name?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  spec?: SpecInput;
  status?: MeshInstallationStatus;
}

export function meshInstallation(o: MeshInstallationOverrides = {}): NamedMeshInstallation {
  return asNamed(
    MeshInstallation.resource.parse({
      apiVersion: API_VERSION,
      kind: 'MeshInstallation',
      metadata: {
        name: o.name ?? 'default',
        uid: o.uid ?? '6f1c2a8e-0000-4000-8000-000000000001',
        generation: o.generation ?? 1,
        creationTimestamp: o.creationTimestamp ?? '2025-01-01T00:00:00Z',
      },
      spec: o.spec ?? {},
      ...(o.status !== undefined ? { status: o.status } : {}),
    }),
  );
}

/** Observations of a healthy mesh at the spec's version; override any part. */
export function observations(mi: NamedMeshInstallation, o: Partial<MeshObservations> = {}): MeshObservations {
  const replicas = mi.spec.controlPlane.replicas;
  return {
    certManagerInstalled: true,
    certificates: [
      { name: 'meshwright-default-root-ca', ready: true, notAfter: '2035-01-01T00:00:00Z' },
      { name: 'meshwright-default-serving', ready: true, notAfter: '2025-04-01T00:00:00Z' },
    ],
    deployment: {
      replicas,
      availableReplicas: replicas,
      updatedReplicas: replicas,
      observedGeneration: 3,
      generation: 3,
      version: mi.spec.version,
    },
    webhook: { exists: true, caBundlePresent: true },
    proxies: { total: 10, upToDate: 10, outdated: 0 },
    memberNamespaces: ['shop', 'payments'],
    ...o,
  };
}

export function workload(o: Partial<MigrationWorkload> & { name: string }): MigrationWorkload {
  return { kind: 'Deployment', namespace: 'shop', outdatedPods: 1, available: true, ...o };
}
