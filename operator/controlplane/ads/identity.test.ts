import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { nodeInfo, refusal, spiffeIdOf, structToJson, uriSans, type NodeInfo } from './identity.js';

const peer = (subjectaltname?: string) =>
  ({ subject: { CN: 'x' }, subjectaltname }) as unknown as PeerCertificate;

describe('node', () => {
  it('decodes a google.protobuf.Struct to plain JSON (proto-loader camelCase or snake_case)', () => {
    assert.deepEqual(
      structToJson({
        fields: {
          s: { kind: 'stringValue', stringValue: 'shop' },
          n: { kind: 'numberValue', numberValue: 3 },
          b: { bool_value: false },
          z: { kind: 'nullValue', nullValue: 'NULL_VALUE' },
          o: { kind: 'structValue', structValue: { fields: { k: { stringValue: 'v' } } } },
          l: {
            kind: 'listValue',
            listValue: { values: [{ kind: 'numberValue', numberValue: 1 }, { stringValue: 'a' }] },
          },
        },
      }),
      { s: 'shop', n: 3, b: false, z: null, o: { k: 'v' }, l: [1, 'a'] },
    );
    assert.deepEqual(structToJson(undefined), {});
  });

  it('makes the user agent of name and version', () => {
    assert.equal(
      nodeInfo({ id: 'a', user_agent_name: 'envoy', user_agent_version: '1.31' }).userAgent,
      'envoy/1.31',
    );
    assert.equal(nodeInfo({ id: 'a', user_agent_name: 'gRPC Node' }).userAgent, 'gRPC Node');
    assert.deepEqual(nodeInfo({}), { id: '', cluster: '', metadata: {} });
  });
});

describe('peer identity', () => {
  it('reads URI SANs from Node’s subjectaltname text, JSON-quoted values included', () => {
    assert.deepEqual(
      uriSans('DNS:a.example, URI:spiffe://cluster.local/ns/shop/sa/checkout, IP Address:10.0.0.1'),
      ['spiffe://cluster.local/ns/shop/sa/checkout'],
    );
    assert.deepEqual(uriSans('URI:"spiffe://td/ns/a/sa/b?x=1,y=2", URI:https://x'), [
      'spiffe://td/ns/a/sa/b?x=1,y=2',
      'https://x',
    ]);
    assert.deepEqual(uriSans(undefined), []);
  });

  it('takes the one SPIFFE workload ID of a certificate, or says why there is none', () => {
    assert.deepEqual(spiffeIdOf(peer('URI:spiffe://cluster.local/ns/shop/sa/checkout, DNS:checkout')), {
      id: 'spiffe://cluster.local/ns/shop/sa/checkout',
    });
    assert.match((spiffeIdOf(undefined) as { error: string }).error, /no client certificate/);
    assert.match((spiffeIdOf(peer('DNS:checkout')) as { error: string }).error, /no SPIFFE workload ID/);
    assert.match(
      (spiffeIdOf(peer('URI:spiffe://td/ns/a/sa/b, URI:spiffe://td/ns/c/sa/d')) as { error: string }).error,
      /several SPIFFE IDs/,
    );
  });

  it('lets a certificate act only as a node of its namespace (and service account, and trust domain when given)', () => {
    const node = (metadata: Record<string, unknown>): NodeInfo => ({ id: 'p.shop', cluster: '', metadata });
    const id = 'spiffe://cluster.local/ns/shop/sa/checkout';
    assert.equal(refusal(node({ NAMESPACE: 'shop' }), id), undefined);
    assert.equal(
      refusal(node({ NAMESPACE: 'shop', SERVICE_ACCOUNT: 'checkout' }), id, 'cluster.local'),
      undefined,
    );
    assert.match(refusal(node({ NAMESPACE: 'web' }), id)!, /claims namespace "web"/);
    assert.match(
      refusal(node({ NAMESPACE: 'shop', SERVICE_ACCOUNT: 'x' }), id)!,
      /claims service account "x"/,
    );
    assert.match(refusal(node({}), id)!, /gives no NAMESPACE/);
    assert.match(
      refusal(node({ NAMESPACE: 'shop' }), id, 'other.example')!,
      /not of trust domain other\.example/,
    );
  });
});
