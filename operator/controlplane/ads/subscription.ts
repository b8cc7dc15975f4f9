/**
 * The state of one resource type on one ADS stream (state of the world), and how a request moves it.
 * Pure: no I/O, so every rule of the protocol is tested directly.
 *
 * - **What the client wants.** For Listener and Cluster, a client that has never named a resource of
 *   the type subscribes to everything (legacy wildcard); `*` subscribes to everything explicitly.
 *   Once it has named resources, an empty list means "nothing" (the protocol's rule). For the other
 *   types, exactly the names requested.
 * - **What a request is.** A request whose `response_nonce` is not the latest nonce sent for the type
 *   on this stream is stale: it is ignored entirely, as the protocol asks. The client repeats its whole subscription
 *   in its next request, which carries the fresh nonce. A request with the latest nonce is an ACK, or
 *   a NACK when it carries `error_detail`. A request without a nonce (the first one, or a change of
 *   subscription before the first response arrived) only subscribes.
 */
import { WILDCARD, WILDCARD_TYPES, type DiscoveryRequest } from './protocol.js';
import { compareStrings } from '../xds/snapshot.js';
import { versionOf, type Entry } from './store.js';

export interface Subscription {
  wildcard: boolean;
  names: Set<string>;
  /** `names` in order, as responses list them. */
  sorted: string[];
  /** Whether a request of this type ever named a resource (then an empty list is no longer a wildcard). */
  named: boolean;
}

export interface Nack {
  version: string;
  nonce: string;
  message: string;
}

export interface TypeState {
  readonly typeUrl: string;
  subscription: Subscription;
  /** The last response sent (nonce `''`: the client already had that version when it connected). */
  sent?: { version: string; nonce: string };
  acked?: string;
  /** The nonce of the last ACK handled: a client repeats it in later requests, which are not new ACKs. */
  ackedNonce?: string;
  /** The last NACK, until a later response is ACKed. */
  nack?: Nack;
}

export const newTypeState = (typeUrl: string): TypeState => ({
  typeUrl,
  subscription: { wildcard: false, names: new Set(), sorted: [], named: false },
});

export type RequestKind =
  | { kind: 'stale' }
  | { kind: 'subscribe' }
  | { kind: 'ack'; version: string; first: boolean }
  | { kind: 'nack'; version: string; message: string; first: boolean };

/**
 * Classifies `request` against `state` and applies it: records the ACK or NACK and the new
 * subscription (nothing for a stale request). Returns what it was and whether the subscription changed.
 */
export function applyRequest(
  state: TypeState,
  request: DiscoveryRequest,
): { what: RequestKind; subscriptionChanged: boolean } {
  const nonce = request.response_nonce ?? '';
  let what: RequestKind;
  if (nonce === '' || !state.sent?.nonce) {
    // Nothing sent on this stream yet: there is no response the nonce could be about.
    what = { kind: 'subscribe' };
  } else if (nonce !== state.sent.nonce) {
    return { what: { kind: 'stale' }, subscriptionChanged: false };
  } else if (request.error_detail != null) {
    const first = state.nack?.nonce !== nonce;
    const message = request.error_detail.message ?? '';
    what = { kind: 'nack', version: state.sent.version, message, first };
    if (first) state.nack = { version: state.sent.version, nonce, message };
  } else {
    const first = state.ackedNonce !== nonce;
    what = { kind: 'ack', version: state.sent.version, first };
    if (first) {
      state.acked = state.sent.version;
      state.ackedNonce = nonce;
      state.nack = undefined;
    }
  }
  return { what, subscriptionChanged: subscribe(state, request.resource_names ?? []) };
}

/** Applies a request's resource names; returns whether the subscription changed. */
export function subscribe(state: TypeState, resourceNames: readonly string[]): boolean {
  const sub = state.subscription;
  let wildcard: boolean;
  let names: Set<string>;
  if (!WILDCARD_TYPES.has(state.typeUrl)) {
    wildcard = false;
    names = new Set(resourceNames);
  } else if (resourceNames.length === 0 && !sub.named) {
    wildcard = true;
    names = new Set();
  } else {
    wildcard = resourceNames.includes(WILDCARD);
    names = new Set(resourceNames.filter((n) => n !== WILDCARD));
  }
  if (resourceNames.length > 0) sub.named = true;
  const changed =
    wildcard !== sub.wildcard || names.size !== sub.names.size || [...names].some((n) => !sub.names.has(n));
  if (changed) {
    sub.wildcard = wildcard;
    sub.names = names;
    sub.sorted = [...names].sort(compareStrings);
  }
  return changed;
}

/** The subscription as `streams()` shows it. */
export const describeSubscription = (sub: Subscription): string[] | '*' =>
  sub.wildcard ? '*' : [...sub.sorted];

/**
 * What a response for this subscription carries: the subscribed resources that exist and that
 * `allowed` lets the node see, in name order, and its version.
 */
export function desired(
  sub: Subscription,
  entries: ReadonlyMap<string, Entry>,
  allowed: (name: string) => boolean,
): { version: string; entries: Entry[] } {
  const out: Entry[] = [];
  if (sub.wildcard) {
    for (const entry of entries.values()) if (allowed(entry.name)) out.push(entry);
  } else {
    for (const name of sub.sorted) {
      const entry = entries.get(name);
      if (entry !== undefined && allowed(name)) out.push(entry);
    }
  }
  return { version: versionOf(out), entries: out };
}

/** Whether a change of `changed` names may alter what this subscription receives. */
export function affected(
  sub: Subscription,
  changed: ReadonlySet<string>,
  allowed: (name: string) => boolean,
): boolean {
  if (sub.wildcard) {
    for (const name of changed) if (allowed(name)) return true;
    return false;
  }
  const [small, large] = changed.size < sub.names.size ? [changed, sub.names] : [sub.names, changed];
  for (const name of small) if (large.has(name) && allowed(name)) return true;
  return false;
}
