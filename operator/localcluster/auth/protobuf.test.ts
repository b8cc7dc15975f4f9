import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeReviewProtobuf } from './index.js';

/** Request bodies captured from kubectl v1.32 (`kubectl auth can-i …`, `kubectl auth whoami`). */
const CAPTURED = {
  canIGetApi:
    'azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSKwoQCgASABoAIgAqADIAOABCABINEgsKBC9hcGkSA2dldBoICAASABoAIAAaACIA',
  canIGetConfigmap:
    'azhzAAoyChdhdXRob3JpemF0aW9uLms4cy5pby92MRIXU2VsZlN1YmplY3RBY2Nlc3NSZXZpZXcSRwoQCgASABoAIgAqADIAOABCABIpCicKAm5zEgNnZXQaACIAKgpjb25maWdtYXBzMgA6CmFwcC1jb25maWcaCAgAEgAaACAAGgAiAA==',
  canIList:
    'azhzAAoxChdhdXRob3JpemF0aW9uLms4cy5pby92MRIWU2VsZlN1YmplY3RSdWxlc1JldmlldxIeChAKABIAGgAiACoAMgA4AEIAEgQKAm5zGgQYACIAGgAiAA==',
  whoami:
    'azhzAAotChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESEVNlbGZTdWJqZWN0UmV2aWV3EhoKEAoAEgAaACIAKgAyADgAQgASBgoECgASABoAIgA=',
};
const decode = (b64: string) => decodeReviewProtobuf(Buffer.from(b64, 'base64'));

describe('decodeReviewProtobuf', () => {
  it('decodes a non-resource SelfSubjectAccessReview', () => {
    assert.deepEqual(decode(CAPTURED.canIGetApi), {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { nonResourceAttributes: { path: '/api', verb: 'get' } },
    });
  });

  it('decodes a resource SelfSubjectAccessReview with every attribute', () => {
    assert.deepEqual(decode(CAPTURED.canIGetConfigmap), {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: {
        resourceAttributes: {
          namespace: 'ns',
          verb: 'get',
          group: '',
          version: '',
          resource: 'configmaps',
          subresource: '',
          name: 'app-config',
        },
      },
    });
  });

  it('decodes a SelfSubjectRulesReview and a SelfSubjectReview', () => {
    assert.deepEqual(decode(CAPTURED.canIList), {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectRulesReview',
      metadata: {},
      spec: { namespace: 'ns' },
    });
    assert.deepEqual(decode(CAPTURED.whoami), {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: {},
    });
  });

  it('refuses bodies without the k8s magic, truncated bodies and other kinds', () => {
    assert.throws(
      () => decodeReviewProtobuf(Buffer.from('{"kind":"SelfSubjectAccessReview"}')),
      /k8s\\0 prefix/,
    );
    const whole = Buffer.from(CAPTURED.canIGetConfigmap, 'base64');
    assert.throws(() => decodeReviewProtobuf(whole.subarray(0, whole.length - 30)), /truncated/);
    // runtime.Unknown{typeMeta{apiVersion: "v1", kind: "Pod"}}
    const pod = Buffer.from([
      0x6b, 0x38, 0x73, 0x00, 0x0a, 0x09, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x03, 0x50, 0x6f, 0x64,
    ]);
    assert.throws(() => decodeReviewProtobuf(pod), /no protobuf decoding for v1, Kind=Pod/);
  });
});
