import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where a running embedded mode keeps the addresses of its services (next to its data folder). */
export interface EmbeddedAddresses {
  readonly pid: number;
  readonly edge: string;
  /** Service name → loopback host:port. */
  readonly services: Readonly<Record<string, string>>;
  /** The superuser's URL of the PostgreSQL server (password included: the file is its owner's only). */
  readonly postgres?: string;
  /** The folder of the mesh's certificates, when mutual TLS is on. */
  readonly tls?: string;
}

/** `<data folder>/addresses.json`, e.g. .data/addresses.json (the in-memory mode writes none). */
export function embeddedAddressesFile(dataDir: string): string {
  return join(resolve(dataDir), "addresses.json");
}

export function writeEmbeddedAddresses(file: string, addresses: EmbeddedAddresses): () => void {
  writeFileSync(file, `${JSON.stringify(addresses, null, 2)}\n`, { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

/** The addresses written by a running embedded mode; undefined when there is no such file. */
export function readEmbeddedAddresses(file: string): EmbeddedAddresses | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as EmbeddedAddresses;
}
