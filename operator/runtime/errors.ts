/**
 * The errors the runtime gives meaning to. A reconciler throws; the controller decides from the
 * error's class what happens next (see controller.ts):
 *
 * - `TerminalError`: retrying cannot help (invalid spec, missing permission that needs a human).
 *   Logged and counted, never retried. The reconciler should already have said why in status.
 * - `RequeueError`: not a failure, "come back in N ms" (waiting for a dependency). Not logged as an
 *   error, not counted as one, no backoff.
 * - `ConflictError`: a write lost an optimistic-concurrency race (HTTP 409). Retried with backoff
 *   like any other error; leader election treats it as "someone else wrote first".
 * - anything else: retried with per-key exponential backoff.
 */

/** A failure that retrying will not fix. Wrap the cause: `new TerminalError('bad spec', { cause })`. */
export class TerminalError extends Error {
  override readonly name: string = 'TerminalError';
}

/** Asks for another reconcile after `requeueAfterMs`, without counting an error. */
export class RequeueError extends Error {
  override readonly name: string = 'RequeueError';

  constructor(
    readonly requeueAfterMs: number,
    message = `requeue after ${requeueAfterMs}ms`,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A create that found the object already there, or an update against a stale version (HTTP 409). */
export class ConflictError extends Error {
  override readonly name: string = 'ConflictError';
}

/** `setControllerReference` on an object that another owner already controls. */
export class AlreadyOwnedError extends Error {
  override readonly name: string = 'AlreadyOwnedError';

  constructor(
    readonly object: string,
    readonly owner: { kind: string; name: string },
  ) {
    super(`${object} is already controlled by ${owner.kind} ${owner.name}`);
  }
}

/** Follows `cause` links (bounded, so a cycle cannot hang us) looking for an instance of `type`. */
export function findCause<E extends Error>(
  err: unknown,
  type: abstract new (...args: never[]) => E,
): E | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth++) {
    if (current instanceof type) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `err`, or an error in its cause chain, is a `TerminalError` (controller-runtime's errors.Is). */
export const isTerminalError = (err: unknown): boolean => findCause(err, TerminalError) !== undefined;

/** True when `err`, or an error in its cause chain, is a `ConflictError`. */
export const isConflictError = (err: unknown): boolean => findCause(err, ConflictError) !== undefined;

/**
 * A "panic": a throw that signals a bug in the reconciler rather than a failure of the world. Non-Error
 * throws (`throw 'x'`) and the engine's own errors (TypeError, ReferenceError, RangeError, SyntaxError).
 * A TypeError that carries a `cause` is not one: undici reports network failures as
 * `TypeError('fetch failed', { cause })`.
 */
export function isPanic(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  if (err instanceof TypeError) return err.cause === undefined && err.message !== 'fetch failed';
  return err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError;
}
