import { Code, ConnectError, fieldViolationsOf } from "../errors.js";

/**
 * The fields named, in order, by the field violations of the INVALID_ARGUMENT that `fn` throws;
 * fails when it returns or throws anything else.
 */
export function violatedFields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.InvalidArgument) return fieldViolationsOf(err).map((v) => v.field);
    throw err;
  }
  throw new Error("expected INVALID_ARGUMENT, got no error");
}

/**
 * The fields named, in order, by the field violations of the INVALID_ARGUMENT that `call` (an
 * RPC, say) rejects with; fails when it resolves or rejects with anything else.
 */
export async function violatedFieldsOf(call: Promise<unknown>): Promise<string[]> {
  return call.then(
    () => {
      throw new Error("expected INVALID_ARGUMENT, got no error");
    },
    (err: unknown) => {
      if (err instanceof ConnectError && err.code === Code.InvalidArgument) return fieldViolationsOf(err).map((v) => v.field);
      throw err;
    },
  );
}
