import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roundTrip } from './fixtures.js';
import { decode, encode, toAny, TYPE } from './protos.js';

describe('the Envoy protos codec', () => {
  it('encodes nested typed configs as Any with their type URL and decodes them back', () => {
    const listener = {
      name: 'l',
      api_listener: {
        api_listener: {
          '@type': TYPE.httpConnectionManager,
          stat_prefix: 's',
          http_filters: [{ name: 'router', typed_config: { '@type': TYPE.router } }],
        },
      },
    };
    assert.deepEqual(decode(TYPE.listener, encode(TYPE.listener, listener)), listener);
    assert.equal(
      toAny(TYPE.listener, listener).type_url,
      'type.googleapis.com/envoy.config.listener.v3.Listener',
    );
  });

  it('the round trip catches a field the Envoy API does not have', () => {
    assert.throws(() => roundTrip(TYPE.cluster, { name: 'c', connect_timeout_ms: 5 }), assert.AssertionError);
  });

  it('refuses a scalar where a message belongs, and the round trip catches an unknown enum name', () => {
    assert.throws(() => encode(TYPE.cluster, { name: 'c', connect_timeout: 5 }), /object expected/);
    assert.throws(() => roundTrip(TYPE.cluster, { name: 'c', type: 'NO_SUCH_TYPE' }), assert.AssertionError);
  });
});
