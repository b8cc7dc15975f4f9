import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenAuthenticator } from './index.js';

describe('TokenAuthenticator', () => {
  it('authenticates an issued token as its user, adding system:authenticated', () => {
    const auth = new TokenAuthenticator();
    const token = auth.issue({ username: 'alice', uid: 'u-1', groups: ['devs'] });
    assert.deepEqual(auth.authenticate(`Bearer ${token}`), {
      username: 'alice',
      uid: 'u-1',
      groups: ['devs', 'system:authenticated'],
    });
  });

  it('does not add system:authenticated twice', () => {
    const auth = new TokenAuthenticator();
    const token = auth.issue({ username: 'alice', groups: ['system:authenticated'] });
    assert.deepEqual(auth.authenticate(`Bearer ${token}`)?.groups, ['system:authenticated']);
  });

  it('leaves system:anonymous and system:unauthenticated members out of system:authenticated', () => {
    const auth = new TokenAuthenticator();
    const anonymous = auth.issue({ username: 'system:anonymous', groups: [] });
    const unauthenticated = auth.issue({ username: 'guest', groups: ['system:unauthenticated'] });
    assert.deepEqual(auth.authenticate(`Bearer ${anonymous}`)?.groups, []);
    assert.deepEqual(auth.authenticate(`Bearer ${unauthenticated}`)?.groups, ['system:unauthenticated']);
  });

  it('issues a service account the username and groups of the service-account authenticator', () => {
    const auth = new TokenAuthenticator();
    const token = auth.issueForServiceAccount('ns', 'sa');
    assert.deepEqual(auth.authenticate(`Bearer ${token}`), {
      username: 'system:serviceaccount:ns:sa',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'],
    });
  });

  it('rejects service account names that would forge another identity', () => {
    const auth = new TokenAuthenticator();
    assert.throws(() => auth.issueForServiceAccount('ns:evil', 'sa'), TypeError);
    assert.throws(() => auth.issueForServiceAccount('ns', ''), TypeError);
    assert.throws(() => auth.issue({ username: '', groups: [] }), TypeError);
  });

  it('issues distinct unguessable tokens, even for the same user', () => {
    const auth = new TokenAuthenticator();
    const a = auth.issue({ username: 'alice', groups: [] });
    const b = auth.issue({ username: 'alice', groups: [] });
    assert.notEqual(a, b);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  });

  it('rejects missing headers, other schemes, unknown and empty tokens', () => {
    const auth = new TokenAuthenticator();
    const token = auth.issue({ username: 'alice', groups: [] });
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Basic ${token}`,
      `${token}`,
      'Bearer nope',
      `Bearer  ${token}`,
    ]) {
      assert.equal(auth.authenticate(header), undefined, JSON.stringify(header));
    }
  });

  it('parses the header like the bearer-token authenticator: any-case scheme, surrounding space, trailing words', () => {
    const auth = new TokenAuthenticator();
    const token = auth.issue({ username: 'alice', groups: [] });
    for (const header of [
      `bearer ${token}`,
      `BEARER ${token}`,
      `  Bearer ${token}  `,
      `Bearer ${token} extra`,
    ]) {
      assert.equal(auth.authenticate(header)?.username, 'alice', header);
    }
  });

  it('keeps tokens per authenticator instance', () => {
    const token = new TokenAuthenticator().issue({ username: 'alice', groups: [] });
    assert.equal(new TokenAuthenticator().authenticate(`Bearer ${token}`), undefined);
  });

  it('is not affected by later changes to the issued user or the returned one', () => {
    const auth = new TokenAuthenticator();
    const issued = { username: 'alice', groups: ['devs'] };
    const token = auth.issue(issued);
    issued.groups.push('system:masters');
    auth.authenticate(`Bearer ${token}`)?.groups.push('system:masters');
    assert.deepEqual(auth.authenticate(`Bearer ${token}`)?.groups, ['devs', 'system:authenticated']);
  });

  it('uses the injected token generator', () => {
    const auth = new TokenAuthenticator({ newToken: () => 'fixed' });
    assert.equal(auth.issue({ username: 'alice', groups: [] }), 'fixed');
    assert.throws(() => auth.issue({ username: 'bob', groups: [] }), /already issued/);
    assert.equal(
      auth.authenticate('Bearer fixed')?.username,
      'alice',
      'the collision did not overwrite alice',
    );
  });
});
