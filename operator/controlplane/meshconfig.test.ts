import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { meshConfigData, meshConfigText } from '../meshinstallation/desired.js';
import { meshInstallation } from '../meshinstallation/fixtures.test.js';
import { MeshConfigError, meshSettings, parseMeshConfig } from './meshconfig.js';

/** The sample's spec (config/samples/meshinstallation.yaml) with the optional parts filled in. */
const sample = () =>
  meshInstallation({
    name: 'team.a',
    spec: {
      version: '1.1.0',
      namespace: 'mesh-system',
      controlPlane: { image: 'registry.local/meshwright:dev' },
      dataPlane: {
        mode: 'Proxyless',
        defaultInboundPolicy: 'Deny',
        proxy: { image: 'registry.local/envoy:1', logLevel: 'debug' },
      },
      mtls: {
        mode: 'Permissive',
        trustDomain: 'mesh.example',
        keyAlgorithm: 'RSA2048',
        issuer: { issuerRef: { name: 'corp-ca' } },
      },
      observability: {
        tracing: { enabled: true, collectorAddress: 'zipkin.tracing:9411', samplingPercentage: 2.5 },
      },
    },
  });

/** `mesh.yaml` with one field replaced (a path into the written data). */
function withField(path: string[], value: unknown): string {
  const data = parse(meshConfigText(meshInstallation())) as Record<string, unknown>;
  let node = data;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return stringify(data);
}

const refused = (text: string, message: RegExp) =>
  assert.throws(
    () => parseMeshConfig(text),
    (e: unknown) => e instanceof MeshConfigError && message.test(e.message),
  );

describe('parseMeshConfig', () => {
  it('reads back exactly what the operator writes (default and fully specified installations)', () => {
    for (const mi of [meshInstallation(), sample()]) {
      const parsed = parseMeshConfig(meshConfigText(mi));
      assert.deepEqual(parsed, meshConfigData(mi));
    }
  });

  it('gives the values the builders and the injector read', () => {
    const config = parseMeshConfig(meshConfigText(sample()));
    assert.equal(config.dataPlane.mode, 'Proxyless');
    assert.equal(config.controlPlane.xdsAddress, 'meshwright-team-a-control-plane.mesh-system.svc:15012');
    assert.equal(
      config.controlPlane.xdsPlaintextAddress,
      'meshwright-team-a-control-plane.mesh-system.svc:15010',
    );
    assert.equal(config.controlPlane.image, 'registry.local/meshwright:dev');
    assert.equal(config.dataPlane.proxy.image, 'registry.local/envoy:1');
    assert.equal(config.observability.tracing.collectorAddress, 'zipkin.tracing:9411');
    assert.deepEqual(meshSettings(config), {
      trustDomain: 'mesh.example',
      mtlsMode: 'Permissive',
      defaultInboundPolicy: 'Deny',
    });
  });

  it('ignores keys it does not know: a newer operator may write more', () => {
    const config = parseMeshConfig(withField(['controlPlane', 'somethingNew'], { a: 1 }));
    assert.equal('somethingNew' in config.controlPlane, false);
    assert.deepEqual(config, parseMeshConfig(meshConfigText(meshInstallation())));
  });

  it('refuses bad input with an error that names the field', () => {
    refused(
      withField(['dataPlane', 'mode'], 'Ambient'),
      /^mesh\.yaml: dataPlane\.mode: .*Sidecar.*Proxyless/,
    );
    refused(
      withField(['controlPlane', 'xdsAddress'], 'no-port'),
      /controlPlane\.xdsAddress: must be host:port/,
    );
    refused(withField(['controlPlane', 'ports', 'xds'], 70000), /controlPlane\.ports\.xds:/);
    refused(withField(['trustDomain'], undefined), /trustDomain:/);
    refused(
      withField(['controlPlane', 'xdsPlaintextAddress'], undefined),
      /controlPlane\.xdsPlaintextAddress:/,
    );
    refused(
      withField(['mtls', 'workloadCertificate', 'duration'], 'a day'),
      /mtls\.workloadCertificate\.duration:/,
    );
    refused(
      withField(['dataPlane', 'proxy', 'resources', 'limits'], { memory: 'lots' }),
      /dataPlane\.proxy\.resources\.limits\.memory:/,
    );
    refused('', /^mesh\.yaml: /);
    refused('installation: [unclosed', /^mesh\.yaml is not valid YAML: /);
  });
});
