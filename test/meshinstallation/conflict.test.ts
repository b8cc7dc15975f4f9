/**
 * Two MeshInstallations selecting the same namespace: the older keeps it, the newer reports
 * `Ready=False` with reason `Conflicted` (and a Warning Event), its webhook leaves the namespace
 * alone, and the conflict ends when the older one goes. An unknown version is refused by the schema.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as names from '../../operator/meshinstallation/names.js';
import { isKubeApiError, type Kube, type KubeObject } from '../../operator/runtime/index.js';
import { setup, waitFor, type Env } from '../runtime/support.js';
import {
  CERT_MANAGER_CRDS,
  ensure,
  installCrds,
  meshInstallation,
  MESH_CRD,
  startOperator,
  summary,
  type Operator,
} from './support.js';

const suffix = randomBytes(3).toString('hex');
const OLDER = `conflict-a-${suffix}`;
const NEWER = `conflict-b-${suffix}`;
const LABEL = 'test.meshwright.io/conflict';

let env: Env;
let kube: Kube;
let op: Operator;
let shared: string;

const ref = (name: string) => ({ apiVersion: 'mesh.meshwright.io/v1alpha1', kind: 'MeshInstallation', name });
const spec = (cpNamespace: string) => ({
  namespace: cpNamespace,
  controlPlane: { replicas: 1 },
  dataPlane: { namespaceSelector: { matchLabels: { [LABEL]: suffix } } },
});

before(async () => {
  env = await setup();
  kube = env.kube();
  await installCrds(kube, MESH_CRD);
  await installCrds(kube, CERT_MANAGER_CRDS);
  await ensure(kube, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: names.DEFAULT_CERT_MANAGER_NAMESPACE },
  });
  shared = await env.h.namespace('shared');
  await kube.mergePatch(
    { apiVersion: 'v1', kind: 'Namespace', name: shared },
    { metadata: { labels: { [LABEL]: suffix } } },
  );
  const cpA = await env.h.namespace('mesh-a');
  const cpB = await env.h.namespace('mesh-b');
  env.h.cleanup(() => kube.delete(ref(OLDER)));
  env.h.cleanup(() => kube.delete(ref(NEWER)));
  op = await startOperator(env.kube());
  await kube.create(meshInstallation(OLDER, spec(cpA)));
  await waitFor(
    async () => summary(await kube.get(ref(OLDER)), 'Reconciled') === 'True/Applied',
    10_000,
    'the older one',
  );
  await kube.create(meshInstallation(NEWER, spec(cpB)));
});

after(async () => {
  await op?.stop();
  await env?.h.close();
});

describe('MeshInstallation conflicts', () => {
  it('reports the newer installation Ready=False/Conflicted, naming the other and the namespace', async () => {
    const newer = await waitFor(
      async () => {
        const o = await kube.get(ref(NEWER));
        return summary(o, 'Ready') === 'False/Conflicted' ? o : undefined;
      },
      10_000,
      'Conflicted',
    );
    const reconciled = (newer.status as { conditions: { type: string; message: string }[] }).conditions.find(
      (c) => c.type === 'Reconciled',
    )!;
    assert.match(reconciled.message, new RegExp(`${shared}.*older MeshInstallation ${OLDER}`));
    assert.deepEqual((newer.status as { memberNamespaces?: string[] }).memberNamespaces ?? [], []);
    const older = await kube.get(ref(OLDER));
    assert.equal(summary(older, 'Reconciled'), 'True/Applied');
    assert.deepEqual((older.status as { memberNamespaces: string[] }).memberNamespaces, [shared]);
  });

  it("keeps the disputed namespace out of the newer one's webhook, and records a Warning Event", async () => {
    const mi = { metadata: { name: NEWER } } as Parameters<typeof names.injectorWebhook>[0];
    const mwc = await waitFor(
      () =>
        kube
          .get<
            KubeObject & {
              webhooks: { namespaceSelector: { matchExpressions: { key: string; values: string[] }[] } }[];
            }
          >({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'MutatingWebhookConfiguration',
            name: names.injectorWebhook(mi),
          })
          .catch(() => undefined),
      10_000,
      'the webhook configuration',
    );
    const excluded = mwc.webhooks[0]!.namespaceSelector.matchExpressions.find(
      (e) => e.key === names.LABELS.namespaceName,
    )!.values;
    assert.ok(excluded.includes(shared), `${shared} is excluded: ${excluded.join(',')}`);
    await waitFor(
      async () => {
        const events = await kube.list<
          KubeObject & { reason: string; type: string; regarding: { name: string } }
        >(
          { apiVersion: 'events.k8s.io/v1', kind: 'Event', plural: 'events', namespaced: true },
          { namespace: 'default' },
        );
        return events.items.some(
          (e) => e.regarding.name === NEWER && e.reason === 'Conflicted' && e.type === 'Warning',
        );
      },
      10_000,
      'a Warning Event Conflicted',
    );
  });

  it('ends the conflict when the older installation is deleted', async () => {
    await kube.delete(ref(OLDER));
    await waitFor(
      async () => summary(await kube.get(ref(NEWER)), 'Reconciled') === 'True/Applied',
      15_000,
      'the newer one no longer Conflicted',
    );
    const newer = await kube.get(ref(NEWER));
    assert.deepEqual((newer.status as { memberNamespaces: string[] }).memberNamespaces, [shared]);
  });

  it('refuses an unknown version (the schema enum)', async () => {
    await assert.rejects(
      kube.create(meshInstallation(`bad-${suffix}`, { version: '9.9.9' })),
      (e: unknown) => isKubeApiError(e) && e.code === 422 && /spec\.version/.test(e.message),
    );
  });
});
