// Starts the embedded mesh (`node launcher/dist/embedded.js`) as a child process and measures
// how long it takes from spawn to the first `/readyz` 200, and its resident memory once ready.
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { embeddedAddressesFile, readEmbeddedAddresses } from "@shopmesh/launcher";
import { hasExited, spawnChild, stopChild } from "./children.js";
import { freePort, httpRequest, sleep } from "./http-util.js";
import { type MemorySample, readMemory } from "./proc-status.js";
import { HarnessError, logTail, type RunningSystem } from "./system.js";

export const EMBEDDED_ENTRY = join("launcher", "dist", "embedded.js");

/**
 * The node flags `npm start` gives the embedded process, read from the root package.json's
 * start script ("tsc -b && node <flags> launcher/dist/embedded.js"), so that the bench starts
 * the mesh exactly as `npm start` does.
 */
export function startScriptNodeFlags(repoRoot: string): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const command = (pkg.scripts?.start ?? "").split("&&").pop()?.trim().split(/\s+/) ?? [];
  const node = command.indexOf("node");
  return node === -1 ? [] : command.slice(node + 1).filter((arg) => arg.startsWith("--"));
}

export interface MeshStartFigures {
  readonly label: string;
  /** Whether the data dir was empty at spawn. */
  readonly freshDataDir: boolean;
  /** Spawn → first `/readyz` 200, milliseconds. */
  readonly readyMs: number;
  /** Spawn → first log line containing the URL, milliseconds (undefined if never seen). */
  readonly urlLineMs: number | undefined;
  readonly urlLine: string | undefined;
  /** Right after ready. */
  readonly memory: MemorySample;
}

export interface MeshStartOptions {
  readonly repoRoot: string;
  /** Overrides EMBEDDED_ENTRY (relative to repoRoot or absolute). */
  readonly entry?: string | undefined;
  readonly dataDir: string;
  readonly freshDataDir: boolean;
  readonly logPath: string;
  readonly readyTimeoutMs: number;
  readonly label: string;
  /** More environment for the mesh (e.g. telemetry settings). */
  readonly env?: Readonly<Record<string, string>>;
}

const POLL_INTERVAL_MS = 20;

function findUrlLine(logPath: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return undefined;
  }
  // Prefer the human-readable banner over structured (JSON) log lines that mention a URL.
  const lines = text.split("\n").filter((line) => /https?:\/\/[^\s"']+/.test(line));
  return lines.find((line) => !line.trimStart().startsWith("{")) ?? lines[0];
}

export async function startMesh(options: MeshStartOptions): Promise<{ system: RunningSystem; figures: MeshStartFigures }> {
  const entry = resolve(options.repoRoot, options.entry ?? EMBEDDED_ENTRY);
  if (!existsSync(entry)) {
    throw new HarnessError(`${entry} not found: build first (\`npm run bench\` runs \`tsc -b\`)`);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Never the default admin port: another process on the machine may hold it.
  const metricsPort = await freePort();
  const logFd = openSync(options.logPath, "a");

  const started = performance.now();
  const child = spawnChild(process.execPath, [...startScriptNodeFlags(options.repoRoot), entry], {
    cwd: options.repoRoot,
    env: {
      ...process.env,
      // The load comes from loopback: it opts out of the edge's rate limits.
      EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1",
      ...options.env,
      EDGE_PORT: String(port),
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: String(metricsPort),
      SHOPMESH_DATA_DIR: options.dataDir,
    },
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  const { pid } = child;
  if (pid === undefined) throw new HarnessError(`could not spawn ${entry}`);
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  const grpc: Record<string, string> = {};
  const system: RunningSystem = {
    name: "mesh",
    url,
    // Filled in once ready, from the addresses file the mesh writes in its data dir (and postgresUrl).
    grpc,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    pid,
    logPath: options.logPath,
    memory: () => readMemory(pid),
    stop: () => stopChild(child, 15_000),
  };

  let urlLine: string | undefined;
  let urlLineMs: number | undefined;
  for (;;) {
    const elapsed = performance.now() - started;
    if (urlLine === undefined) {
      urlLine = findUrlLine(options.logPath);
      if (urlLine !== undefined) urlLineMs = Math.round(elapsed);
    }
    if (spawnError || hasExited(child)) {
      throw new HarnessError(
        `mesh (${options.label} start) exited before ready: ${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}\n` +
          `--- last lines of ${options.logPath}\n${logTail(options.logPath)}`,
      );
    }
    if (elapsed > options.readyTimeoutMs) {
      await system.stop();
      throw new HarnessError(
        `mesh (${options.label} start) not ready within ${options.readyTimeoutMs} ms (GET ${url}/readyz)\n` +
          `--- last lines of ${options.logPath}\n${logTail(options.logPath)}`,
      );
    }
    const ok = await httpRequest(`${url}/readyz`, { timeoutMs: 1_000 }).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ok) {
      const readyMs = Math.round(performance.now() - started);
      const memory = readMemory(pid);
      const addresses = readEmbeddedAddresses(embeddedAddressesFile(options.dataDir));
      Object.assign(grpc, addresses?.services);
      if (urlLine === undefined) {
        urlLine = findUrlLine(options.logPath);
        if (urlLine !== undefined) urlLineMs = readyMs;
      }
      return {
        system: {
          ...system,
          ...(addresses?.postgres ? { postgresUrl: addresses.postgres } : {}),
          ...(addresses?.tls ? { tlsDir: addresses.tls } : {}),
        },
        figures: { label: options.label, freshDataDir: options.freshDataDir, readyMs, urlLineMs, urlLine, memory },
      };
    }
    await sleep(POLL_INTERVAL_MS);
  }
}
