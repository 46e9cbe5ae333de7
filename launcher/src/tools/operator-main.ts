/**
 * `npm run operator -- create --email <email> --password <password>`: creates the operator
 * account, or gives an existing account the operator role, through auth's CreateOperator
 * (idempotent). Against the running embedded mode unless AUTH_ADDR names an auth service.
 */
import { join, resolve } from "node:path";
import { ConfigError, closeClient, createClient, createLogger, meshTlsOf, runMain } from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { embeddedAddressesFile, readEmbeddedAddresses } from "../embedded-addresses.js";
import { parseOperatorArgs, readOperatorConfig } from "./operator-config.js";

runMain(async () => {
  const args = parseOperatorArgs(process.argv.slice(2));
  const config = readOperatorConfig();
  const logger = createLogger({ level: "warn" });
  // The embedded mode's services listen on ports picked at start; it writes them down.
  const file = embeddedAddressesFile(config.SHOPMESH_DATA_DIR);
  const embedded = readEmbeddedAddresses(file);
  const auth = config.AUTH_ADDR ?? embedded?.services.auth;
  if (!auth) throw new ConfigError(`set AUTH_ADDR, or start the embedded mode (npm start), which writes ${file}`);
  const tlsDir = config.SHOPMESH_TLS_DIR ?? embedded?.tls ?? join(resolve(config.SHOPMESH_DATA_DIR), "tls");
  const tls = meshTlsOf({ ...config, SHOPMESH_TLS_DIR: tlsDir }, "operator-cli", logger);
  const client = createClient(AuthService, auth, { defaultTimeoutMs: 15_000, tls });
  try {
    const { user, created } = await client.createOperator({ email: args.email, password: args.password, name: args.name });
    process.stdout.write(`${user?.email} is an operator (${created ? "account created" : "existing account"}, user id ${user?.id})\n`);
  } finally {
    closeClient(client);
  }
});
