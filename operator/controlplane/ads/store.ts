/**
 * The published resources, by type URL and name, each with a content hash and its encoded bytes.
 *
 * `publish` hashes every resource once (SHA-256 of its canonical JSON, so equal content gives equal
 * hashes in every replica of the control plane), encodes only the resources whose hash is new, and
 * reports which names changed per type. A resource whose plain JSON text is the one published last
 * time is unchanged without computing its canonical form (sorting keys costs several times more than
 * serialising; builders give the same text for the same content). A resource object published before
 * (the same object, `===`: the incremental builder hands back the objects of unchanged Services) costs
 * nothing: its entry is remembered per object, so only new objects are serialised, hashed and
 * encoded — published resources are therefore never to be mutated. Streams never hash or encode:
 * they pick entries and compare versions.
 *
 * A version is the hash of exactly what a response carries (the entries' hashes, in name order), so
 * two replicas in the same state give a proxy the same version, and a proxy that reconnects with the
 * version it already has can be told nothing.
 */
import { hash as digest } from 'node:crypto';
import { stableJson } from '../../runtime/reconcile.js';
import { encode, type Message } from '../xds/protos.js';
import { compareStrings } from '../xds/snapshot.js';
import { resourceChunk } from './protocol.js';

/** A resource set by type URL, as `resources(snapshot)` builds it. */
export type XdsResources = Partial<
  Record<string /* type URL */, readonly (Message & ({ name: string } | { cluster_name: string }))[]>
>;

export interface Entry {
  readonly name: string;
  /** SHA-256 of the resource's canonical JSON (keys sorted). */
  readonly hash: string;
  /** SHA-256 of its plain JSON: equal text, equal content, without sorting keys (the common case). */
  readonly quick: string;
  /** The resource as one `resources` field of a DiscoveryResponse. */
  readonly chunk: Buffer;
}

export interface PublishResult {
  /** Version of the whole set. */
  version: string;
  /** Per type URL, the names added, changed or removed. Types without changes are absent. */
  changed: Map<string, Set<string>>;
}

const sha256 = (text: string): string => digest('sha256', text, 'hex');

/** The version of a response carrying `entries` (in name order). */
export function versionOf(entries: readonly Entry[]): string {
  return sha256(entries.map((e) => e.hash).join('')).slice(0, 16);
}

/** The name a resource is known by: `name`, or `cluster_name` for a ClusterLoadAssignment. */
export function resourceName(resource: Message): string | undefined {
  if (typeof resource.name === 'string' && resource.name !== '') return resource.name;
  if (typeof resource.cluster_name === 'string' && resource.cluster_name !== '') return resource.cluster_name;
  return undefined;
}

const EMPTY: ReadonlyMap<string, Entry> = new Map();

export class ResourceStore {
  /** The entry each published resource object got, with its type: what `publish` reuses for the same object. */
  private readonly known = new WeakMap<object, { typeUrl: string; entry: Entry }>();
  private types = new Map<string, ReadonlyMap<string, Entry>>();
  /** The version of each type's whole entry list, kept while the type does not change. */
  private typeVersions = new Map<string, string>();
  private currentVersion = sha256('').slice(0, 16);

  get version(): string {
    return this.currentVersion;
  }

  /** The entries of a type, in name order. */
  entries(typeUrl: string): ReadonlyMap<string, Entry> {
    return this.types.get(typeUrl) ?? EMPTY;
  }

  /**
   * Replaces the whole set (a type left out has no resources any more). Throws, changing nothing,
   * on a resource without a name, a name given twice, or a resource the Envoy protos cannot encode.
   */
  publish(resources: XdsResources): PublishResult {
    const next = new Map<string, ReadonlyMap<string, Entry>>();
    const changed = new Map<string, Set<string>>();
    // remembered only once the whole set is accepted: a refused publish changes nothing
    const fresh: [object, { typeUrl: string; entry: Entry }][] = [];
    for (const [typeUrl, list] of Object.entries(resources)) {
      if (list === undefined) continue;
      const previous = this.entries(typeUrl);
      const built = new Map<string, Entry>();
      let inOrder = true;
      let last: string | undefined;
      list.forEach((resource, i) => {
        const name = resourceName(resource);
        if (name === undefined) {
          throw new TypeError(`xDS resource #${i} of ${typeUrl} has no name (nor cluster_name)`);
        }
        if (built.has(name)) throw new TypeError(`xDS resource ${name} of ${typeUrl} is given twice`);
        if (last !== undefined && compareStrings(last, name) >= 0) inOrder = false;
        last = name;
        const seen = this.known.get(resource);
        if (seen !== undefined && seen.typeUrl === typeUrl && seen.entry.name === name) {
          built.set(name, seen.entry);
          return;
        }
        const old = previous.get(name);
        const quick = sha256(JSON.stringify(resource));
        let entry: Entry;
        if (old?.quick === quick) entry = old;
        else {
          // The text differs: the content may not (the same fields in another order).
          const hash = sha256(stableJson(resource));
          entry =
            old?.hash === hash
              ? { ...old, quick }
              : { name, hash, quick, chunk: chunkOf(typeUrl, name, resource) };
        }
        built.set(name, entry);
        fresh.push([resource, { typeUrl, entry }]);
      });
      // the builders give their resources in name order already
      const sorted = inOrder ? built : new Map([...built.entries()].sort(([a], [b]) => compareStrings(a, b)));
      if (sorted.size > 0) next.set(typeUrl, sorted);
    }
    for (const typeUrl of new Set([...this.types.keys(), ...next.keys()])) {
      const before = this.entries(typeUrl);
      const after = next.get(typeUrl) ?? EMPTY;
      const names = new Set<string>();
      for (const [name, entry] of after) if (before.get(name)?.hash !== entry.hash) names.add(name);
      for (const name of before.keys()) if (!after.has(name)) names.add(name);
      if (names.size > 0) changed.set(typeUrl, names);
    }
    this.types = next;
    for (const [resource, known] of fresh) this.known.set(resource, known);
    const typeVersions = new Map<string, string>();
    for (const [typeUrl, entries] of next) {
      const kept = changed.has(typeUrl) ? undefined : this.typeVersions.get(typeUrl);
      typeVersions.set(typeUrl, kept ?? versionOf([...entries.values()]));
    }
    this.typeVersions = typeVersions;
    this.currentVersion = sha256(
      [...next.keys()]
        .sort(compareStrings)
        .map((typeUrl) => `${typeUrl} ${typeVersions.get(typeUrl)!}`)
        .join('\n'),
    ).slice(0, 16);
    return { version: this.currentVersion, changed };
  }
}

function chunkOf(typeUrl: string, name: string, resource: Message): Buffer {
  let bytes: Uint8Array;
  try {
    bytes = encode(typeUrl, resource);
  } catch (e) {
    throw new TypeError(`xDS resource ${name} cannot be encoded as ${typeUrl}: ${(e as Error).message}`);
  }
  return resourceChunk(typeUrl, bytes);
}
