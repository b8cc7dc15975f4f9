import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { meshConfigText } from '../../meshinstallation/desired.js';
import { meshInstallation } from '../../meshinstallation/fixtures.test.js';
import {
  identitySettingsFromMeshConfig,
  InvalidSettingsError,
  parseIdentitySettings,
  type IdentitySettings,
} from './settings.js';

const valid: IdentitySettings = {
  trustDomain: 'cluster.local',
  keyAlgorithm: 'ECDSAP256',
  duration: '24h',
  renewBefore: '8h',
  issuerRef: { name: 'ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
};

const refused = (value: unknown, field: RegExp): void => {
  assert.throws(
    () => parseIdentitySettings(value),
    (e: unknown) => e instanceof InvalidSettingsError && field.test(e.message),
  );
};

describe('identity settings', () => {
  it('accepts valid settings as they are', () => {
    assert.deepEqual(parseIdentitySettings(valid), valid);
  });

  it('refuses what cert-manager or a SPIFFE ID could not take, naming the field', () => {
    refused({ ...valid, trustDomain: 'Cluster.Local' }, /trustDomain: .*SPIFFE trust domain/);
    refused({ ...valid, trustDomain: 'a/b' }, /trustDomain/);
    refused({ ...valid, keyAlgorithm: 'DSA' }, /keyAlgorithm/);
    refused({ ...valid, duration: '1d' }, /duration: must be a Go duration/);
    refused({ ...valid, duration: '30m', renewBefore: '10m' }, /duration: must be at least 1h/);
    refused({ ...valid, renewBefore: '24h' }, /renewBefore: must be shorter than duration/);
    refused(
      { ...valid, issuerRef: { name: '', kind: 'ClusterIssuer', group: 'cert-manager.io' } },
      /issuerRef\.name/,
    );
    refused(undefined, /invalid identity settings/);
  });

  it("reads the control plane's mesh.yaml as the operator writes it", () => {
    const mi = meshInstallation({
      spec: {
        mtls: {
          trustDomain: 'prod.example.com',
          keyAlgorithm: 'RSA2048',
          workloadCertificate: { duration: '12h', renewBefore: '4h' },
          issuer: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } },
        },
      },
    });
    assert.deepEqual(identitySettingsFromMeshConfig(parse(meshConfigText(mi))), {
      trustDomain: 'prod.example.com',
      keyAlgorithm: 'RSA2048',
      duration: '12h',
      renewBefore: '4h',
      issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
    const bootstrapped = identitySettingsFromMeshConfig(parse(meshConfigText(meshInstallation())));
    assert.deepEqual(bootstrapped.issuerRef.kind, 'ClusterIssuer', 'the bootstrapped CA issuer');
  });

  it('names the fields of a broken mesh.yaml as the file spells them', () => {
    assert.throws(
      () =>
        identitySettingsFromMeshConfig({
          trustDomain: 'cluster.local',
          mtls: { keyAlgorithm: 'RSA2048', workloadCertificate: { duration: '1d' } },
        }),
      (e: unknown) =>
        e instanceof InvalidSettingsError &&
        /mtls\.workloadCertificate\.duration: must be a Go duration/.test(e.message) &&
        /mtls\.workloadCertificate\.renewBefore/.test(e.message) &&
        /mtls\.issuerRef/.test(e.message),
    );
    assert.throws(() => identitySettingsFromMeshConfig('not a map'), InvalidSettingsError);
  });
});
