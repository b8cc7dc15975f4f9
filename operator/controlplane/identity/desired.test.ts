import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { isDNS1123Subdomain, isLabelValue } from '../../runtime/names.js';
import { isUpToDate, withDesiredHash, type KubeObject } from '../../runtime/index.js';
import { identityCertificateName, parseSpiffeId, SERVICE_ACCOUNT_LABEL } from '../names.js';
import {
  certificateUsages,
  needsIdentity,
  podIdentityKey,
  podServiceAccount,
  workloadCertificate,
  type PodShape,
  type ServiceAccountIdentity,
} from './desired.js';
import { IDENTITY_SELECTOR } from './names.js';
import { labelMatcher } from '../../runtime/cache.js';
import type { IdentitySettings } from './settings.js';

const settings = (over: Partial<IdentitySettings> = {}): IdentitySettings => ({
  trustDomain: 'cluster.local',
  keyAlgorithm: 'ECDSAP256',
  duration: '24h',
  renewBefore: '8h',
  issuerRef: { name: 'meshwright-default-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
  ...over,
});

const sa = (name = 'checkout', uid = 'uid-1'): ServiceAccountIdentity => ({ name, uid });

describe('workloadCertificate', () => {
  it('carries the SPIFFE ID of the ServiceAccount as its only identity', () => {
    const c = workloadCertificate('shop', sa('checkout'), settings({ trustDomain: 'prod.example.com' }));
    assert.deepEqual(c.spec?.uris, ['spiffe://prod.example.com/ns/shop/sa/checkout']);
    assert.deepEqual(parseSpiffeId(c.spec?.uris?.[0] ?? ''), {
      trustDomain: 'prod.example.com',
      namespace: 'shop',
      serviceAccount: 'checkout',
    });
    assert.equal(c.spec?.commonName, undefined);
    assert.equal(c.spec?.dnsNames, undefined);
    assert.equal(c.spec?.ipAddresses, undefined);
    assert.equal(c.spec?.isCA, undefined);
  });

  it('is named, and writes its Secret, where the injector mounts it from', () => {
    const c = workloadCertificate('shop', sa('checkout'), settings());
    assert.equal(c.metadata.name, identityCertificateName('checkout'));
    assert.equal(c.metadata.namespace, 'shop');
    assert.equal(c.spec?.secretName, identityCertificateName('checkout'));
  });

  it('keeps a valid name for a ServiceAccount name too long for a label', () => {
    const long = `svc.${'a'.repeat(240)}`;
    const c = workloadCertificate('shop', sa(long), settings());
    assert.ok(isDNS1123Subdomain(c.metadata.name), c.metadata.name);
    assert.ok(c.metadata.name.length <= 63, 'also a valid Secret volume name');
    assert.equal(
      c.spec?.uris?.[0],
      `spiffe://cluster.local/ns/shop/sa/${long}`,
      'the ID keeps the full name',
    );
    for (const v of Object.values(c.metadata.labels)) assert.ok(isLabelValue(v), v);
  });

  it('is issued by the mesh issuer, with the mesh lifetimes', () => {
    const issuerRef = { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' };
    const c = workloadCertificate('shop', sa(), settings({ duration: '48h', renewBefore: '12h', issuerRef }));
    assert.deepEqual(c.spec?.issuerRef, issuerRef);
    assert.equal(c.spec?.duration, '48h');
    assert.equal(c.spec?.renewBefore, '12h');
    assert.equal(c.spec?.revisionHistoryLimit, 1);
  });

  it('takes the key algorithm from the settings, with a new key at every renewal', () => {
    const cases = [
      ['ECDSAP256', { algorithm: 'ECDSA', size: 256 }],
      ['ECDSAP384', { algorithm: 'ECDSA', size: 384 }],
      ['RSA2048', { algorithm: 'RSA', size: 2048 }],
      ['RSA4096', { algorithm: 'RSA', size: 4096 }],
      ['Ed25519', { algorithm: 'Ed25519' }],
    ] as const;
    for (const [keyAlgorithm, key] of cases) {
      const c = workloadCertificate('shop', sa(), settings({ keyAlgorithm }));
      assert.deepEqual(c.spec?.privateKey, { ...key, rotationPolicy: 'Always' }, keyAlgorithm);
    }
  });

  it('is good for both ends of mTLS, and claims key encipherment only for RSA keys', () => {
    assert.deepEqual(certificateUsages('ECDSAP256'), ['digital signature', 'server auth', 'client auth']);
    assert.deepEqual(certificateUsages('Ed25519'), ['digital signature', 'server auth', 'client auth']);
    assert.deepEqual(certificateUsages('RSA2048'), [
      'digital signature',
      'key encipherment',
      'server auth',
      'client auth',
    ]);
    const c = workloadCertificate('shop', sa(), settings({ keyAlgorithm: 'RSA4096' }));
    assert.deepEqual(c.spec?.usages, certificateUsages('RSA4096'));
  });

  it('is controlled by its ServiceAccount, without blocking its deletion', () => {
    const c = workloadCertificate('shop', sa('checkout', 'the-uid'), settings());
    assert.deepEqual(c.metadata.ownerReferences, [
      { apiVersion: 'v1', kind: 'ServiceAccount', name: 'checkout', uid: 'the-uid', controller: true },
    ]);
  });

  it('labels the Certificate and its Secret so the identity informer (and a human) finds both', () => {
    const c = workloadCertificate('shop', sa('checkout'), settings());
    const matches = labelMatcher(IDENTITY_SELECTOR);
    assert.ok(matches(c.metadata.labels));
    assert.ok(matches(c.spec?.secretTemplate?.labels));
    assert.equal(c.metadata.labels['app.kubernetes.io/managed-by'], 'meshwright');
    assert.equal(c.metadata.labels['app.kubernetes.io/component'], 'identity');
    assert.equal(c.metadata.labels['meshwright.io/owner'], 'checkout');
    assert.equal(c.metadata.labels['meshwright.io/owner-kind'], 'ServiceAccount');
    assert.ok(
      !labelMatcher('!meshwright.io/owner-kind')(c.metadata.labels),
      "outside the MeshInstallation's child selector",
    );
  });

  it("passes the cert-manager CRD schema (the model's validate())", () => {
    for (const keyAlgorithm of ['ECDSAP256', 'RSA2048', 'Ed25519'] as const) {
      const c = workloadCertificate('shop', sa(), settings({ keyAlgorithm }));
      assert.doesNotThrow(() => new Certificate(c).validate());
      assert.equal(c.apiVersion, 'cert-manager.io/v1');
      assert.equal(c.kind, 'Certificate');
    }
  });

  it('is deterministic: built twice, applied once', () => {
    const a = workloadCertificate('shop', sa(), settings()) as unknown as KubeObject;
    const b = workloadCertificate('shop', sa(), settings()) as unknown as KubeObject;
    assert.deepEqual(a, b);
    const applied = withDesiredHash(a);
    assert.ok(isUpToDate(withDesiredHash(b), applied), 'the second build is up to date with the first');
    const longer = withDesiredHash(
      workloadCertificate('shop', sa(), settings({ duration: '48h' })) as unknown as KubeObject,
    );
    assert.ok(!isUpToDate(longer, applied), 'a changed duration is not');
  });
});

describe('which pods need an identity', () => {
  const pod = (o: { sa?: string; label?: string; phase?: string; namespace?: string } = {}): PodShape => ({
    metadata: {
      namespace: o.namespace ?? 'shop',
      labels: o.label === undefined ? {} : { [SERVICE_ACCOUNT_LABEL]: o.label },
    },
    spec: o.sa === undefined ? {} : { serviceAccountName: o.sa },
    ...(o.phase === undefined ? {} : { status: { phase: o.phase } }),
  });

  it('keys a pod by the ServiceAccount in its spec, which the label can only abbreviate', () => {
    assert.equal(podIdentityKey(pod({ sa: 'checkout', label: 'checkout' })), 'shop/checkout');
    assert.equal(podServiceAccount(pod({ sa: 'a'.repeat(100), label: 'a'.repeat(63) })), 'a'.repeat(100));
    assert.equal(podServiceAccount(pod({ label: 'cart' })), 'cart', 'the label when the spec has none');
    assert.equal(podServiceAccount(pod({})), 'default');
    assert.equal(podIdentityKey({ spec: { serviceAccountName: 'x' } }), undefined, 'no namespace, no key');
  });

  it('counts pods until they have finished', () => {
    for (const phase of [undefined, 'Pending', 'Running', 'Unknown'])
      assert.ok(needsIdentity(pod({ phase })), String(phase));
    for (const phase of ['Succeeded', 'Failed']) assert.ok(!needsIdentity(pod({ phase })), phase);
  });
});
