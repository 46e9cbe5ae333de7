import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { Code, ConnectError } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { CallContext } from "./context.js";

/** A typed async handler for one method, chosen by the method's kind. */
export type MethodHandler<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? (request: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>>
  : M extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (request: MessageShape<I>, ctx: CallContext) => AsyncIterable<MessageInitShape<O>>
    : M extends { methodKind: "client_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (requests: AsyncIterable<MessageShape<I>>, ctx: CallContext) => Promise<MessageInitShape<O>>
      : M extends { methodKind: "bidi_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? (requests: AsyncIterable<MessageShape<I>>, ctx: CallContext) => AsyncIterable<MessageInitShape<O>>
        : never;

/** Handlers for every method of a generated service, keyed by the method's local name. */
export type ServiceHandlers<S> = S extends GenService<infer T extends GenServiceMethods> ? { [K in keyof T]: MethodHandler<T[K]> } : never;

/** A service and its handlers, ready to be added to a server. */
export interface ServiceRegistration {
  readonly service: DescService;
  readonly handlers: Readonly<Record<string, unknown>>;
}

export function serviceRegistration<S extends DescService>(service: S, handlers: ServiceHandlers<S>): ServiceRegistration {
  return { service, handlers: handlers as Record<string, unknown> };
}

/** The HTTP/2 path of a method: "/shop.catalog.v1.CatalogService/GetProduct". */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * A grpc-js method definition for a protobuf-es method. Requests are left as raw bytes so that
 * the server decodes them itself and answers INVALID_ARGUMENT, not INTERNAL, for bad bytes.
 */
export function serverMethodDefinition(method: DescMethod): grpc.MethodDefinition<Buffer, unknown> {
  return {
    path: methodPath(method),
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, create(method.output, m as MessageInitShape<DescMessage>))),
    responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    originalName: method.localName,
  };
}

/** A grpc-js method definition for the calling side. */
export function clientMethodDefinition(method: DescMethod): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: methodPath(method),
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (m: unknown) => Buffer.from(toBinary(method.input, create(method.input, m as MessageInitShape<DescMessage>))),
    requestDeserialize: (b: Buffer) => fromBinary(method.input, b),
    responseSerialize: (m: unknown) => Buffer.from(toBinary(method.output, m as MessageShape<DescMessage>)),
    responseDeserialize: (b: Buffer) => fromBinary(method.output, b),
    originalName: method.localName,
  };
}

/** Decodes request bytes; malformed bytes are the caller's fault. */
export function decodeRequest(method: DescMethod, bytes: Buffer): MessageShape<DescMessage> {
  try {
    return fromBinary(method.input, bytes);
  } catch (err) {
    throw new ConnectError(`malformed ${method.input.typeName}`, Code.InvalidArgument, undefined, undefined, err);
  }
}
