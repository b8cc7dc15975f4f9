/**
 * The control plane in `meshwright dev`: the local cluster runs no Deployments, so the control plane
 * a MeshInstallation deploys never starts there. Instead, once the operator has written a mesh
 * configuration, dev starts the control plane in-process against the local cluster: its plaintext
 * xDS port on 127.0.0.1 (a proxyless gRPC client can dial it), no webhook and no mutual-TLS port
 * (no cert-manager issues their certificate here), and it marks ServicePolicies served, as in a
 * real cluster.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { LABELS, MESH_CONFIG_KEY } from '../meshinstallation/names.js';
import { type Kube, type KubeObject, type Logger } from '../runtime/index.js';
import { ConfigMaps } from '../runtime/resources.js';
import { startControlPlane } from './controlplane.js';
import { parseMeshConfig, type MeshConfig } from './meshconfig.js';

const MESH_CONFIG_SELECTOR = `${LABELS.managedBy}=meshwright,${LABELS.component}=mesh-config`;

/** The first mesh configuration the operator has written, if any. */
async function findMeshConfig(kube: Kube): Promise<{ mesh: MeshConfig; namespace: string } | undefined> {
  const list = await kube.list<KubeObject & { data?: Record<string, string> }>(ConfigMaps, {
    labelSelector: MESH_CONFIG_SELECTOR,
  });
  for (const cm of list.items) {
    const text = cm.data?.[MESH_CONFIG_KEY];
    if (text !== undefined) return { mesh: parseMeshConfig(text), namespace: cm.metadata!.namespace! };
  }
  return undefined;
}

export async function runDevControlPlane(o: {
  kube: Kube;
  log: (line: string) => void;
  signal: AbortSignal;
  logger: Logger;
}): Promise<void> {
  let found: Awaited<ReturnType<typeof findMeshConfig>>;
  while (!o.signal.aborted && found === undefined) {
    found = await findMeshConfig(o.kube).catch(() => undefined);
    if (found === undefined) await delay(500, undefined, { signal: o.signal }).catch(() => undefined);
  }
  if (!found || o.signal.aborted) return;
  const controlPlane = await startControlPlane(
    {
      kube: o.kube,
      mesh: found.mesh,
      namespace: found.namespace,
      leaderElection: false,
      bindAddress: '127.0.0.1',
      ports: { xds: false, xdsPlaintext: 0, webhook: false, metrics: false, health: false },
      logger: o.logger,
    },
    o.signal,
  );
  await controlPlane.firstPublish;
  o.log(
    `control plane (in-process, for mesh ${found.mesh.installation}): xDS on 127.0.0.1:${controlPlane.ports.xdsPlaintext} ` +
      `(plaintext; proxyless gRPC clients dial xds:///<service>.<namespace>.svc.cluster.local:<port>)`,
  );
  await controlPlane.done;
}
