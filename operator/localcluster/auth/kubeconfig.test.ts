import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { kubeconfigYaml } from './index.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('kubeconfigYaml', () => {
  it('writes one cluster, user and context, selected, with the CA base64-encoded', () => {
    const yaml = kubeconfigYaml({
      server: 'https://127.0.0.1:6443',
      caCertPem: CA,
      token: 't0k',
      user: 'admin',
      contextName: 'local',
    });
    assert.deepEqual(parse(yaml), {
      apiVersion: 'v1',
      clusters: [
        {
          cluster: {
            'certificate-authority-data': Buffer.from(CA).toString('base64'),
            server: 'https://127.0.0.1:6443',
          },
          name: 'local',
        },
      ],
      contexts: [{ context: { cluster: 'local', user: 'admin' }, name: 'local' }],
      'current-context': 'local',
      kind: 'Config',
      preferences: {},
      users: [{ name: 'admin', user: { token: 't0k' } }],
    });
  });

  it('defaults the context name and leaves out what was not given', () => {
    const config = parse(
      kubeconfigYaml({ server: 'https://localhost:6443', user: 'system:serviceaccount:ns:sa' }),
    ) as {
      clusters: Array<{ cluster: object; name: string }>;
      users: Array<{ name: string; user: object }>;
      'current-context': string;
    };
    assert.equal(config['current-context'], 'meshwright-local');
    assert.deepEqual(config.clusters[0], {
      cluster: { server: 'https://localhost:6443' },
      name: 'meshwright-local',
    });
    assert.deepEqual(config.users[0], { name: 'system:serviceaccount:ns:sa', user: {} });
  });

  it('does not wrap the long base64 CA line', () => {
    const longCa = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(600)}\n-----END CERTIFICATE-----\n`;
    const yaml = kubeconfigYaml({ server: 'https://127.0.0.1:1', caCertPem: longCa, user: 'u' });
    assert.ok(
      yaml
        .split('\n')
        .some((l) => l.includes(`certificate-authority-data: ${Buffer.from(longCa).toString('base64')}`)),
    );
  });

  it('refuses a server that is not an http(s) URL, and an empty user', () => {
    assert.throws(() => kubeconfigYaml({ server: '127.0.0.1:6443', user: 'u' }));
    assert.throws(() => kubeconfigYaml({ server: 'ftp://127.0.0.1', user: 'u' }), TypeError);
    assert.throws(() => kubeconfigYaml({ server: 'https://127.0.0.1', user: '' }), TypeError);
  });
});
