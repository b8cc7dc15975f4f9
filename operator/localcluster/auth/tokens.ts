/**
 * Static bearer tokens, like kube-apiserver's --token-auth-file, plus service-account identities. Tokens are
 * opaque random strings held in memory; they are not JWTs and carry nothing themselves.
 */
import { randomBytes } from 'node:crypto';
import { serviceAccountGroups, serviceAccountUsername } from './names.js';
import { ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, ANONYMOUS } from './types.js';
import type { UserInfo } from './types.js';

export interface TokenAuthenticatorDeps {
  /** A fresh unguessable token; 32 random bytes, base64url, unless replaced (tests). */
  newToken?: () => string;
}

export class TokenAuthenticator {
  readonly #users = new Map<string, UserInfo>();
  readonly #newToken: () => string;

  constructor(deps: TokenAuthenticatorDeps = {}) {
    this.#newToken = deps.newToken ?? (() => randomBytes(32).toString('base64url'));
  }

  /** A new token that authenticates as `user`. */
  issue(user: UserInfo): string {
    if (user.username === '') throw new TypeError('cannot issue a token for an empty username');
    const token = this.#newToken();
    if (this.#users.has(token)) throw new Error('token generator returned a token already issued');
    this.#users.set(token, copy(user));
    return token;
  }

  /** A token for ServiceAccount `namespace/name`, with the groups the service-account authenticator gives. */
  issueForServiceAccount(namespace: string, name: string): string {
    for (const [what, value] of [
      ['namespace', namespace],
      ['name', name],
    ] as const) {
      if (value === '' || value.includes(':'))
        throw new TypeError(`invalid service account ${what}: "${value}"`);
    }
    return this.issue({
      username: serviceAccountUsername(namespace, name),
      groups: serviceAccountGroups(namespace),
    });
  }

  /**
   * The user behind an `Authorization` header, or undefined when it carries no token we issued (the caller
   * answers 401). Parsed as the bearer-token authenticator does: scheme `bearer` in any case, one space,
   * the token; anything after a further space is ignored.
   */
  authenticate(authorizationHeader: string | undefined): UserInfo | undefined {
    const auth = (authorizationHeader ?? '').trim();
    if (auth === '') return undefined;
    const [scheme = '', token = ''] = auth.split(' ', 3);
    if (scheme.toLowerCase() !== 'bearer' || token === '') return undefined;
    const user = this.#users.get(token);
    return user === undefined ? undefined : withAuthenticatedGroup(copy(user));
  }
}

const copy = (user: UserInfo): UserInfo => ({
  username: user.username,
  ...(user.uid === undefined ? {} : { uid: user.uid }),
  groups: [...user.groups],
});

/** `AuthenticatedGroupAdder`: every authenticated user but system:anonymous is in system:authenticated. */
function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.username === ANONYMOUS) return user;
  if (user.groups.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED)) return user;
  return { ...user, groups: [...user.groups, ALL_AUTHENTICATED] };
}
