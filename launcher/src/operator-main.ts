/**
 * `npm run operator -- create --email <email> --password <password>`: creates the operator
 * account, or gives an existing account the operator role, through auth's CreateOperator
 * (idempotent). Against the running embedded mode unless AUTH_ADDR names an auth service.
 */
import { ConfigError, closeClient, createClient, runMain } from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { embeddedAddressesFile, readEmbeddedAddresses } from "./embedded-addresses.js";
import { parseOperatorArgs, readOperatorConfig } from "./operator-config.js";

runMain(async () => {
  const args = parseOperatorArgs(process.argv.slice(2));
  const config = readOperatorConfig();
  let auth = config.AUTH_ADDR;
  if (auth === undefined) {
    // The embedded mode's services listen on ports picked at start; it writes them down.
    const file = embeddedAddressesFile(config.SHOPMESH_DATA_DIR);
    auth = readEmbeddedAddresses(file)?.services.auth;
    if (!auth) throw new ConfigError(`set AUTH_ADDR, or start the embedded mode (npm start), which writes ${file}`);
  }
  const client = createClient(AuthService, auth, { defaultTimeoutMs: 15_000 });
  try {
    const { user, created } = await client.createOperator({ email: args.email, password: args.password, name: args.name });
    process.stdout.write(`${user?.email} is an operator (${created ? "account created" : "existing account"}, user id ${user?.id})\n`);
  } finally {
    closeClient(client);
  }
});
