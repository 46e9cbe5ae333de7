export * from "./config.js";
export * from "./errors.js";
export * from "./logger.js";
export * from "./grpc/context.js";
export * from "./grpc/interceptors.js";
export * from "./grpc/service.js";
export * from "./grpc/server.js";
export * from "./grpc/client.js";
