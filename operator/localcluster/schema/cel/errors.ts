/**
 * Errors raised by our CEL library functions. cel-js turns a thrown error into an evaluation failure; the
 * message is what the API server would print after `<message> evaluating rule: ...`.
 */
export class CelRuntimeError extends Error {}

export function celError(message: string): never {
  throw new CelRuntimeError(message);
}
