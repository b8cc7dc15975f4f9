/**
 * The mesh versions this operator can install. A version pins the control-plane image (this
 * project's own image) and the Envoy proxy image the injector adds; the list is the `spec.version`
 * enum of MeshInstallation, so an unknown version is refused by the API server itself.
 */
export const MESH_VERSIONS = {
  '1.0.0': {
    controlPlaneImage: 'quay.io/meshwright/meshwright:v1.0.0',
    proxyImage: 'envoyproxy/envoy:v1.31.5',
  },
  '1.1.0': {
    controlPlaneImage: 'quay.io/meshwright/meshwright:v1.1.0',
    proxyImage: 'envoyproxy/envoy:v1.32.3',
  },
} as const;

export type MeshVersion = keyof typeof MESH_VERSIONS;

export const MESH_VERSION_NAMES = Object.keys(MESH_VERSIONS) as [MeshVersion, ...MeshVersion[]];

/** The newest version: what a MeshInstallation that names none installs. */
export const LATEST_MESH_VERSION: MeshVersion = MESH_VERSION_NAMES[MESH_VERSION_NAMES.length - 1]!;
