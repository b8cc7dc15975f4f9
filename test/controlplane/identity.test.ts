/**
 * The identity controller against an API server: a local cluster with TLS and RBAC, the controller
 * running as a ServiceAccount that holds exactly `IDENTITY_RULES`, pods labelled as the injector
 * labels them. It starts without cert-manager's CRDs (the error surfaces, then the CRDs arrive and
 * the Certificate follows), then covers one Certificate per meshed ServiceAccount, zero writes on a
 * reconcile with nothing new, a settings change, scale to zero, repair, and garbage collection.
 *
 * Always its own local cluster: it needs one without cert-manager's CRDs at first, and counts
 * writes in the local cluster's request log. Where `../shared/crds` has the published cert-manager
 * Certificate CRD, that is the one installed (its schema checks every field we write); else the
 * project's minimal CRDs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CERT_MANAGER_NOT_INSTALLED_MESSAGE,
  Certificates,
  IDENTITY_RULES,
  setupIdentityController,
  type IdentityController,
} from '../../operator/controlplane/identity/controller.js';
import { REASONS } from '../../operator/controlplane/identity/names.js';
import type { IdentitySettings } from '../../operator/controlplane/identity/settings.js';
import { identityCertificateName, SERVICE_ACCOUNT_LABEL } from '../../operator/controlplane/names.js';
import { startLocalCluster, type LocalCluster } from '../../operator/localcluster/index.js';
import {
  createKube,
  isNotFound,
  Manager,
  silentLogger,
  type Kube,
  type KubeObject,
  type ResourceType,
} from '../../operator/runtime/index.js';
import { Pods, ServiceAccounts } from '../../operator/runtime/resources.js';
import { ROOT } from '../api/support.js';
import { CERT_MANAGER_CRDS, installCrds } from '../meshinstallation/support.js';
import { waitFor } from '../runtime/support.js';

const PUBLISHED_CERTIFICATE_CRD = join(
  ROOT,
  '..',
  'shared',
  'crds',
  'cert-manager',
  'cert-manager.io_certificates.yaml',
);

const CP_NS = 'meshwright-system';
const CP_SA = 'meshwright-control-plane';
const CP_USER = `system:serviceaccount:${CP_NS}:${CP_SA}`;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

const Events: ResourceType = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
};

type Cert = KubeObject & {
  spec: { uris?: string[]; duration?: string; renewBefore?: string; issuerRef?: object; secretName?: string };
};

let cluster: LocalCluster;
let admin: Kube;
let mgr: Manager;
let identity: IdentityController;
let stopManager: () => Promise<void>;
let settings: IdentitySettings = {
  trustDomain: 'cluster.local',
  keyAlgorithm: 'ECDSAP256',
  duration: '24h',
  renewBefore: '8h',
  issuerRef: { name: 'meshwright-default-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
};

// ------------------------------------------------------------------------------ helpers

const namespace = (name: string) => admin.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const serviceAccount = (ns: string, name: string) =>
  admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });

/** A pod as the injector leaves it (`meshed`), or an unmeshed one. */
const pod = (ns: string, name: string, sa: string, meshed = true) =>
  admin.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: ns,
      labels: { app: name, ...(meshed ? { [SERVICE_ACCOUNT_LABEL]: sa } : {}) },
    },
    spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  });

const certificate = async (ns: string, sa: string): Promise<Cert | undefined> => {
  try {
    return await admin.get<Cert>({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      name: identityCertificateName(sa),
      namespace: ns,
    });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
};

const certificatesIn = async (ns: string): Promise<Cert[]> =>
  (await admin.list<Cert>(Certificates, { namespace: ns })).items;

/** Writes the control plane's ServiceAccount made since `from` (an index into the request log). */
const writesSince = (from: number) =>
  cluster.faults.requests
    .slice(from)
    .filter((r) => r.user === CP_USER && WRITE_VERBS.has(r.verb))
    .map((r) => `${r.verb} ${r.resource ?? r.path}${r.name ? ` ${r.name}` : ''}`);

const idle = (): boolean =>
  identity.controller.queue.len() === 0 && identity.controller.queue.inFlight() === 0;

async function reconciles(): Promise<number> {
  const metric = mgr.metrics.registry.getSingleMetric('controller_runtime_reconcile_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels.controller === 'identity').reduce((n, v) => n + v.value, 0);
}

/** Waits until the controller has seen `key` in its cache of `type` (so the key was enqueued) and is idle. */
async function settled(type: ResourceType, key: string, present: boolean, selector?: string): Promise<void> {
  const informer = mgr.informer(type, selector ? { labelSelector: selector } : {});
  await waitFor(
    () => (informer.get(key) !== undefined) === present,
    10_000,
    `${key} ${present ? 'cached' : 'gone'}`,
  );
  await waitFor(idle, 10_000, 'the identity controller idle');
}

// ------------------------------------------------------------------------------ setup

before(async () => {
  cluster = await startLocalCluster({ tls: true });
  admin = createKube({ kubeconfigPath: cluster.kubeconfigPath });
  await namespace(CP_NS);
  await serviceAccount(CP_NS, CP_SA);
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'meshwright-identity-test' },
    rules: IDENTITY_RULES.map((r) => ({ ...r })),
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'meshwright-identity-test' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'meshwright-identity-test' },
    subjects: [{ kind: 'ServiceAccount', name: CP_SA, namespace: CP_NS }],
  });
  const kubeconfig = await cluster.kubeconfigFor({ serviceAccount: { namespace: CP_NS, name: CP_SA } });
  mgr = new Manager({
    kube: createKube({ kubeconfigPath: kubeconfig }),
    logger: silentLogger(),
    informers: { initialBackoffMs: 20, maxBackoffMs: 500 },
  });
  identity = setupIdentityController(mgr, {
    settings: () => settings,
    certManagerRetry: { initialMs: 50, maxMs: 400 },
  });
  const abort = new AbortController();
  const running = mgr.start(abort.signal);
  stopManager = async () => {
    abort.abort();
    await running;
  };
  await waitFor(() => mgr.ready(), 15_000, 'the caches to sync');
});

after(async () => {
  await stopManager?.();
  await cluster?.stop();
});

// ------------------------------------------------------------------------------ tests

describe('workload identities', () => {
  it('without cert-manager: a Warning Event on the ServiceAccount, probes with backoff, nothing else', async () => {
    await namespace('early');
    await serviceAccount('early', 'api');
    await pod('early', 'api-0', 'api');
    const event = await waitFor(
      async () =>
        (
          await admin.list<
            KubeObject & {
              reason: string;
              type: string;
              note: string;
              regarding: { kind: string; name: string };
            }
          >(Events, { namespace: 'early' })
        ).items.find((e) => e.regarding.kind === 'ServiceAccount' && e.regarding.name === 'api'),
      10_000,
      'the Warning Event',
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.reason, REASONS.certManagerNotInstalled);
    assert.equal(event.note, CERT_MANAGER_NOT_INSTALLED_MESSAGE);
    assert.match(event.note, /certificates\.cert-manager\.io\/v1\) is not installed; install cert-manager/);
    const probes = () =>
      cluster.faults.requests.filter(
        (r) => r.user === CP_USER && r.path === '/apis/cert-manager.io/v1/certificates' && r.code === 404,
      ).length;
    const first = probes();
    await waitFor(() => probes() >= first + 2, 10_000, 'two more probes');
    assert.equal(identity.certManagerInstalled, false);
    assert.ok(mgr.ready(), 'no informer waits on the absent CRD');
  });

  it('once the CRDs are installed, the waiting ServiceAccount gets its Certificate', async () => {
    await installCrds(
      admin,
      existsSync(PUBLISHED_CERTIFICATE_CRD) ? PUBLISHED_CERTIFICATE_CRD : CERT_MANAGER_CRDS,
    );
    const cert = await waitFor(() => certificate('early', 'api'), 10_000, 'the Certificate');
    assert.deepEqual(cert.spec.uris, ['spiffe://cluster.local/ns/early/sa/api']);
    assert.ok(identity.certManagerInstalled);
  });

  it('one Certificate per ServiceAccount with meshed pods, none for the others', async () => {
    await namespace('shop');
    for (const sa of ['checkout', 'cart', 'idle']) await serviceAccount('shop', sa);
    await pod('shop', 'checkout-0', 'checkout');
    await pod('shop', 'checkout-1', 'checkout');
    await pod('shop', 'cart-0', 'cart');
    await pod('shop', 'idle-0', 'idle', false); // not meshed: no identity
    const checkout = await waitFor(() => certificate('shop', 'checkout'), 10_000, 'checkout Certificate');
    await waitFor(() => certificate('shop', 'cart'), 10_000, 'cart Certificate');
    await settled(ServiceAccounts, 'shop/idle', true);

    const names = (await certificatesIn('shop')).map((c) => c.metadata!.name).sort();
    assert.deepEqual(names, [identityCertificateName('cart'), identityCertificateName('checkout')].sort());

    const sa = await admin.get({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      name: 'checkout',
      namespace: 'shop',
    });
    assert.deepEqual(checkout.spec.uris, ['spiffe://cluster.local/ns/shop/sa/checkout']);
    assert.equal(checkout.spec.secretName, identityCertificateName('checkout'));
    assert.deepEqual(checkout.spec.issuerRef, settings.issuerRef);
    assert.equal(checkout.spec.duration, '24h');
    assert.equal(checkout.spec.renewBefore, '8h');
    assert.deepEqual(
      checkout.metadata!.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]),
      [['ServiceAccount', 'checkout', sa.metadata!.uid, true]],
    );
  });

  it('a reconcile with nothing new writes nothing', async () => {
    await waitFor(idle, 10_000, 'idle');
    const from = cluster.faults.requests.length;
    const before = await reconciles();
    const enqueued = identity.settingsChanged();
    assert.ok(enqueued >= 3, `every ServiceAccount with an identity enqueued (${enqueued})`);
    await waitFor(async () => (await reconciles()) >= before + enqueued && idle(), 10_000, 'the reconciles');
    assert.deepEqual(writesSince(from), []);
  });

  it('a settings change reaches every Certificate, with one write each', async () => {
    await waitFor(idle, 10_000, 'idle');
    const from = cluster.faults.requests.length;
    settings = { ...settings, duration: '48h', renewBefore: '12h' };
    identity.settingsChanged();
    const all = async () => [...(await certificatesIn('shop')), ...(await certificatesIn('early'))];
    await waitFor(
      async () => (await all()).every((c) => c.spec.duration === '48h' && c.spec.renewBefore === '12h'),
      10_000,
      'every Certificate at 48h',
    );
    await waitFor(idle, 10_000, 'idle');
    const certs = await all();
    assert.equal(certs.length, 3);
    assert.deepEqual(
      writesSince(from).sort(),
      [
        ...certs.map((c) => `patch certificates ${c.metadata!.name}`),
        ...certs.map(() => 'create events'), // IdentityCertificateApplied on each ServiceAccount
      ].sort(),
      'one server-side apply and one Event per Certificate, nothing else',
    );
  });

  it('refuses invalid settings: nothing written, nothing crashed, and valid ones apply again', async () => {
    await waitFor(idle, 10_000, 'idle');
    const valid = settings;
    const from = cluster.faults.requests.length;
    const before = await reconciles();
    settings = { ...valid, trustDomain: 'Not A Trust Domain', duration: '30m' };
    const enqueued = identity.settingsChanged();
    await waitFor(async () => (await reconciles()) >= before + enqueued && idle(), 10_000, 'the reconciles');
    assert.deepEqual(writesSince(from), []);
    assert.equal(
      (await certificate('shop', 'cart'))?.spec.duration,
      '48h',
      'the last valid Certificate stays',
    );

    settings = { ...valid, renewBefore: '10h' };
    identity.settingsChanged();
    await waitFor(
      async () => (await certificate('shop', 'cart'))?.spec.renewBefore === '10h',
      10_000,
      'the valid settings applied',
    );
  });

  it('puts back a Certificate deleted by hand', async () => {
    const old = await certificate('shop', 'cart');
    await admin.delete({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      name: identityCertificateName('cart'),
      namespace: 'shop',
    });
    const back = await waitFor(
      async () => {
        const c = await certificate('shop', 'cart');
        return c && c.metadata!.uid !== old!.metadata!.uid ? c : undefined;
      },
      10_000,
      'the Certificate recreated',
    );
    assert.equal(back.spec.duration, '48h');
  });

  it('keeps the Certificate when the last meshed pod goes (scale to zero)', async () => {
    await admin.delete({ apiVersion: 'v1', kind: 'Pod', name: 'cart-0', namespace: 'shop' });
    await settled(Pods, 'shop/cart-0', false, SERVICE_ACCOUNT_LABEL);
    assert.ok(await certificate('shop', 'cart'), 'still there');
  });

  it('deleting the ServiceAccount deletes its Certificate (garbage collection)', async () => {
    await admin.delete({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'checkout', namespace: 'shop' });
    await waitFor(
      async () => (await certificate('shop', 'checkout')) === undefined,
      10_000,
      'the Certificate gone',
    );
    await settled(ServiceAccounts, 'shop/checkout', false);
    assert.equal(await certificate('shop', 'checkout'), undefined, 'not recreated for the pods left behind');
    assert.ok(await certificate('shop', 'cart'), 'the others stay');
  });

  it('needed no permission beyond IDENTITY_RULES', () => {
    const forbidden = cluster.faults.requests
      .filter((r) => r.user === CP_USER && r.code === 403)
      .map((r) => `${r.verb} ${r.resource ?? r.path}`);
    assert.deepEqual(forbidden, []);
  });
});
