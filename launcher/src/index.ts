export { startEmbedded, type EmbeddedMesh } from "./embedded-mesh.js";
export { embeddedConfigSchema, readEmbeddedConfig } from "./config.js";
export { type OrderJson, type RestReply, RestError, rest, Shopper } from "./shopper.js";
