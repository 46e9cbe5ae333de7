import { ConfigError, type ConfigOf, byName, env, loadConfig, serviceVars } from "@shopmesh/platform";

/**
 * Environment of the auth service. Exported as data so the configuration table (docs/configuration.md) and
 * deployment manifests can be checked against it.
 */
export const authConfigSchema = byName({
  ...serviceVars("auth", { schema: "auth" }),
  AUTH_ACCESS_TTL_S: env.int({ doc: "Lifetime of access tokens in seconds", default: 900, min: 30, max: 86_400 }),
  AUTH_AUDIENCE: env.string({ doc: "`aud` claim of access tokens, checked by every verifier", default: "shopmesh" }),
  AUTH_HOST: env.string({ doc: "Interface the auth gRPC server listens on", default: "0.0.0.0" }),
  AUTH_ISSUER: env.string({ doc: "`iss` claim of access tokens, checked by every verifier", default: "shopmesh" }),
  AUTH_KEY_ROTATION_S: env.int({
    doc: "How long a signing key signs before its successor takes over, in seconds (no restart needed); 0: never rotates",
    default: 7 * 86_400,
    min: 0,
  }),
  AUTH_KEY_PUBLISH_AHEAD_S: env.int({
    doc: "How long a new signing key is published in the JWKS before it signs, in seconds; longer than verifiers cache the key set (10 minutes), shorter than AUTH_KEY_ROTATION_S",
    default: 3600,
    min: 0,
  }),
  AUTH_PORT: env.port({ doc: "Port of the auth gRPC server (0 picks a free one)", default: 50052 }),
  AUTH_REFRESH_TTL_S: env.int({
    doc: "Lifetime of a refresh token in seconds (each Refresh issues a new one)",
    default: 30 * 86_400,
    min: 60,
  }),
  AUTH_SCRYPT_LOG2_N: env.int({
    doc: "scrypt cost of new password hashes as log2(N), with r=8, p=1 (15 = 32 MiB per hash); existing hashes keep theirs",
    default: 15,
    min: 10,
    max: 20,
  }),
});

export type AuthConfig = ConfigOf<typeof authConfigSchema>;

/** Reads and validates the auth service's environment; throws a ConfigError naming each bad variable. */
export function readAuthConfig(source: Record<string, string | undefined> = process.env): AuthConfig {
  const config = loadConfig(authConfigSchema, source);
  if (config.AUTH_KEY_ROTATION_S > 0 && config.AUTH_KEY_PUBLISH_AHEAD_S >= config.AUTH_KEY_ROTATION_S) {
    throw new ConfigError(
      "invalid environment variable AUTH_KEY_PUBLISH_AHEAD_S: must be shorter than AUTH_KEY_ROTATION_S (a key is published ahead within the interval of the one before)",
    );
  }
  return config;
}
