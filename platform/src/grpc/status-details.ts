import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { StatusSchema } from "@shopmesh/proto/google/rpc/status_pb.js";

/** The trailer in which gRPC carries a binary `google.rpc.Status` with the error details. */
export const statusDetailsKey = "grpc-status-details-bin";

const typeUrlPrefix = "type.googleapis.com/";

/** The `grpc-status-details-bin` value for an error, or undefined when it has no details. */
export function encodeStatusDetails(err: ConnectError): Buffer | undefined {
  if (err.details.length === 0) return undefined;
  const details = err.details.map((d) =>
    "desc" in d
      ? { typeUrl: typeUrlPrefix + d.desc.typeName, value: toBinary(d.desc, create(d.desc, d.value)) }
      : { typeUrl: typeUrlPrefix + d.type, value: d.value },
  );
  return Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code: err.code, message: err.rawMessage, details })));
}

/**
 * The details of a `grpc-status-details-bin` value, in the form ConnectError keeps incoming
 * details (`findDetails` decodes them); none when the value is absent or not a Status.
 */
export function decodeStatusDetails(value: unknown): { type: string; value: Uint8Array }[] {
  if (!(value instanceof Uint8Array)) return [];
  try {
    return fromBinary(StatusSchema, value).details.map((any) => ({
      type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1),
      value: any.value,
    }));
  } catch {
    return [];
  }
}
