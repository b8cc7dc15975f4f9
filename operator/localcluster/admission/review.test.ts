import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallError, decodeReply } from './client.js';
import { DecodeError, InvalidResponse, reviewVersionFor, verifyResponse } from './review.js';

const UID = '7f0c7b1e-1d1a-4c55-9b1e-2a4f3c6d9e01';
const v1 = (
  response: object,
  envelope: object = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
) => ({
  ...envelope,
  response: { uid: UID, ...response },
});
const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

describe('reviewVersionFor', () => {
  it('takes the first version this server can send, in the webhook’s order of preference', () => {
    assert.equal(reviewVersionFor(['v1', 'v1beta1']), 'v1');
    assert.equal(reviewVersionFor(['v2', 'v1beta1', 'v1']), 'v1beta1');
    assert.equal(reviewVersionFor(['v2']), undefined);
  });
});

describe('verifyResponse', () => {
  it('reads allowed, the decoded patch, its type, the status and warnings', () => {
    const verified = verifyResponse(
      'v1',
      UID,
      v1({ allowed: true, patchType: 'JSONPatch', patch: base64([]), warnings: ['w'] }),
    );
    assert.equal(verified.allowed, true);
    assert.equal(verified.patch?.toString(), '[]');
    assert.equal(verified.patchType, 'JSONPatch');
    assert.deepEqual(verified.warnings, ['w']);
  });

  it('refuses v1 answers without a response, for another uid, or not saying what they are', () => {
    const refuses = (review: unknown, message: string) =>
      assert.throws(
        () => verifyResponse('v1', UID, review),
        (err: unknown) => err instanceof InvalidResponse && err.message === message,
      );
    refuses({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'webhook response was absent');
    refuses(v1({ uid: '', allowed: true }), `expected response.uid="${UID}", got ""`);
    refuses(
      v1({ allowed: true }, {}),
      'expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got /, Kind=',
    );
    refuses(
      v1({ allowed: true, patch: base64([]) }),
      'webhook returned response.patch but not response.patchType',
    );
    refuses(
      v1({ allowed: true, patchType: 'JSONPatch' }),
      'webhook returned response.patchType but not response.patch',
    );
  });

  it('checks v1beta1 answers loosely: any uid, no envelope, and a patch is a JSONPatch', () => {
    const verified = verifyResponse('v1beta1', UID, {
      response: { uid: 'other', allowed: true, patch: base64([]) },
    });
    assert.equal(verified.patchType, 'JSONPatch');
  });

  it('refuses a patch that is not standard base64 the way Go’s JSON decoding does', () => {
    assert.throws(
      () => verifyResponse('v1', UID, v1({ allowed: true, patchType: 'JSONPatch', patch: 'W10*' })),
      (err: unknown) => err instanceof DecodeError && err.message === 'illegal base64 data at input byte 3',
    );
  });
});

describe('decodeReply', () => {
  const reply = (statusCode: number, body: string, contentType = 'application/json') => ({
    statusCode,
    contentType,
    body: Buffer.from(body),
  });
  const fails = (r: ReturnType<typeof reply>, message: string) =>
    assert.throws(
      () => decodeReply(r),
      (err: unknown) => err instanceof CallError && err.message === message,
    );

  it('words error statuses as the REST client does, preferring a Status the webhook sent', () => {
    fails(reply(404, 'nope', 'text/plain'), 'the server could not find the requested resource');
    fails(
      reply(503, 'down', 'text/plain'),
      'an error on the server ("down") has prevented the request from succeeding',
    );
    fails(
      reply(502, '<html>', 'text/html; charset=utf-8'),
      'an error on the server ("<html>") has prevented the request from succeeding',
    );
    fails(reply(500, '{}'), 'an error on the server ("unknown") has prevented the request from succeeding');
    fails(
      reply(418, ''),
      'the server responded with the status code 418 but did not return more information',
    );
    fails(
      reply(500, JSON.stringify({ kind: 'Status', status: 'Failure', message: 'webhook crashed' })),
      'webhook crashed',
    );
  });

  it('refuses empty and undecodable successful answers', () => {
    fails(reply(200, ''), '0-length response with status code: 200 and content type: application/json');
    assert.throws(
      () => decodeReply(reply(200, 'not json')),
      /^CallError: couldn't get version\/kind; json parse error: /,
    );
  });
});
