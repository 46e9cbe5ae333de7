const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Schema names are plain lowercase identifiers (at most 63 characters), so they need no
 * quoting rules of their own and can go into a connection's `search_path` option as is.
 */
export function isSchemaName(schema: string): boolean {
  return SCHEMA_NAME.test(schema) && !schema.startsWith("pg_");
}

/** Throws unless {@link isSchemaName}. */
export function assertSchemaName(schema: string): void {
  if (!isSchemaName(schema)) {
    throw new Error(
      `invalid schema name ${JSON.stringify(schema)}: use lowercase letters, digits and _ (max 63), not starting with a digit or pg_`,
    );
  }
}

/** Quotes an SQL identifier (schema, savepoint). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
