/**
 * The operator with exactly the permissions `operator/generate/rbac.ts` gives it: a local cluster
 * with TLS and RBAC, the CRDs (ours, cert-manager's minimal ones, the HTTPRoute), the generated
 * ServiceAccount, ClusterRole, ClusterRoleBinding and leader-election Role/RoleBinding, and
 * `startOperator` (the process's own wiring, leader election on) with a kubeconfig for that
 * service account.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  clusterRole,
  clusterRoleBinding,
  LEADER_ELECTION_RULES,
  leaderElectionRole,
  leaderElectionRoleBinding,
  OPERATOR_CLUSTER_RULES,
  SERVICE_ACCOUNT_NAME,
  serviceAccount,
} from '../../operator/generate/rbac.js';
import { startLocalCluster, type LocalCluster } from '../../operator/localcluster/index.js';
import { startOperator, type OperatorHandle } from '../../operator/operator.js';
import { createKube, silentLogger, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { waitFor } from '../runtime/support.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const OPERATOR_NS = 'meshwright-system';
export const CERT_MANAGER_NS = 'cert-manager';
export const SA_USER = `system:serviceaccount:${OPERATOR_NS}:${SERVICE_ACCOUNT_NAME}`;

async function crdsOf(file: string): Promise<KubeObject[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o?.kind === 'CustomResourceDefinition');
}

export interface RbacEnv {
  cluster: LocalCluster;
  /** The admin's client (plays the user and the controllers the local cluster lacks). */
  admin: Kube;
  /** 403 answers the operator's service account got so far, as `verb resource[/sub] ns`. */
  forbidden(): string[];
  operator?: OperatorHandle;
  stop(): Promise<void>;
}

/**
 * A TLS + RBAC local cluster with the CRDs and the operator's RBAC (`rules`/`leaderRules` replace
 * the generated ones for counter-tests), and the operator running as its service account.
 */
export async function startRbacEnv(
  o: { rules?: readonly V1PolicyRule[]; leaderRules?: readonly V1PolicyRule[] } = {},
): Promise<RbacEnv> {
  const cluster = await startLocalCluster({ tls: true });
  const admin = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  const files = [
    ...(await readdir(join(ROOT, 'crds')))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(ROOT, 'crds', f)),
    join(ROOT, 'test', 'fixtures', 'crds', 'cert-manager.yaml'),
    join(ROOT, 'test', 'fixtures', 'crds', 'gateway-api-httproute.yaml'),
  ];
  for (const file of files) for (const crd of await crdsOf(file)) await admin.create(crd);
  await cluster.settle();
  for (const name of [OPERATOR_NS, CERT_MANAGER_NS])
    await admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const obj of [
    serviceAccount(OPERATOR_NS),
    clusterRole(o.rules ?? OPERATOR_CLUSTER_RULES),
    clusterRoleBinding(OPERATOR_NS),
    leaderElectionRole(OPERATOR_NS, o.leaderRules ?? LEADER_ELECTION_RULES),
    leaderElectionRoleBinding(OPERATOR_NS),
  ])
    await admin.create(obj as KubeObject);

  const kubeconfig = await cluster.kubeconfigFor({
    serviceAccount: { namespace: OPERATOR_NS, name: SERVICE_ACCOUNT_NAME },
  });
  const abort = new AbortController();
  const operator = startOperator(
    {
      kubeconfig,
      namespace: OPERATOR_NS,
      leaderElection: true,
      metricsPort: false,
      healthPort: false,
      bindAddress: '127.0.0.1',
      certManagerNamespace: CERT_MANAGER_NS,
      logger: silentLogger(),
    },
    abort.signal,
  );
  operator.done.catch(() => undefined); // a counter-test's operator may never sync
  return {
    cluster,
    admin,
    operator,
    forbidden: () =>
      cluster.faults.requests
        .filter((r) => r.code === 403 && r.user === SA_USER)
        .map(
          (r) =>
            `${r.verb} ${r.resource ?? r.path}${r.subresource ? `/${r.subresource}` : ''}${r.namespace ? ` ${r.namespace}` : ''}`,
        ),
    stop: async () => {
      abort.abort();
      await Promise.race([operator.done.catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
      await cluster.stop();
    },
  };
}

/** Waits until the operator holds the Lease and its caches synced. */
export const waitReady = (env: RbacEnv, timeoutMs = 20_000): Promise<true> =>
  waitFor(
    () => (env.operator!.mgr.isLeader() && env.operator!.mgr.ready()) || undefined,
    timeoutMs,
    'the operator to lead and be ready',
  );
