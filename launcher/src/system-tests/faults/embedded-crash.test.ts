import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { freePort } from "@shopmesh/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedAddressesFile, readEmbeddedAddresses } from "../../embedded-addresses.js";
import { Shopper } from "../../shopper.js";
import { balancedBooks, checkoutLoad, settleAndCheck, sleep } from "./crash-check.js";

/**
 * `npm start`'s process killed (SIGKILL) again and again under a checkout load and started again
 * on the same data: every order ends paid or cancelled, none is charged twice, and the books
 * balance. Each kill cuts sagas short at whatever step they are; an event its consumer had not
 * committed must go out again after the restart.
 */

const embeddedMain = fileURLToPath(new URL("../../../dist/embedded.js", import.meta.url));
const SHOPPERS = 10;
/** How long the load runs before each kill: varied, so that the kills land at different steps. */
const KILL_AFTER_MS = [1_500, 700, 2_500, 1_100, 400, 1_900];

describe("the embedded mesh killed under load", () => {
  let dataDir: string;
  let edgePort: number;
  let child: ChildProcess | undefined;
  const output: string[] = [];

  /** Starts `npm start`'s program on the data directory; resolves once it says it is ready. */
  async function start(): Promise<void> {
    const proc = spawn(process.execPath, ["--max-old-space-size=192", embeddedMain], {
      env: {
        ...process.env,
        SHOPMESH_DATA_DIR: dataDir,
        EDGE_PORT: String(edgePort),
        METRICS_PORT: "0",
        LOG_LEVEL: "warn",
        // Every delivery waits before its handler runs: events spend that long handed over to
        // their consumers and not yet committed, the window a kill must not lose them in, and
        // each kill finds sagas in the middle of it.
        FAULTS_ENABLED: "true",
        FAULTS_EVENTS: "*=delay=150ms",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    const collect = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.splice(0, output.length - 200);
    };
    proc.stderr?.on("data", collect);
    await new Promise<void>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${output.join("")}`)), 60_000);
      proc.stdout?.on("data", (chunk: Buffer) => {
        collect(chunk);
        seen += chunk.toString();
        if (seen.includes("shopmesh is ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code ?? signal} before it was ready:\n${output.join("")}`));
      });
    });
  }

  async function kill(): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "shopmesh-crash-"));
    edgePort = await freePort();
    await start();
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      await kill();
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(embeddedAddressesFile(dataDir), { force: true });
  });

  it("settles every order once (paid or cancelled, never charged twice) and balances the books after six kill -9s of the whole process mid-checkout", {
    timeout: 300_000,
  }, async () => {
    const url = `http://127.0.0.1:${edgePort}`;
    const shoppers = await Promise.all(Array.from({ length: SHOPPERS }, (_, i) => Shopper.signup(url, `crash-${i}@example.com`)));
    const userIds = new Set(shoppers.map((s) => s.userId));
    // Short pauses: many sagas in flight when the process dies.
    const load = checkoutLoad(shoppers, { thinkMs: 10, refusedPauseMs: 250 });
    const kills: string[] = [];
    const killedAt: number[] = [];
    let result: Awaited<ReturnType<typeof load.stop>>;
    try {
      for (const [i, afterMs] of KILL_AFTER_MS.entries()) {
        await sleep(afterMs);
        killedAt.push(Date.now());
        await kill();
        const restarting = performance.now();
        await start();
        kills.push(`  kill ${i + 1}: SIGKILL after ${afterMs} ms of load, ready again in ${Math.round(performance.now() - restarting)} ms`);
      }
      await sleep(1_000);
    } finally {
      result = await load.stop();
    }

    const addresses = readEmbeddedAddresses(embeddedAddressesFile(dataDir));
    if (!addresses) throw new Error("the embedded mesh wrote no addresses file");
    const { order, payment, catalog } = addresses.services;
    if (!order || !payment || !catalog) throw new Error("the addresses file lacks a service");
    const books = await settleAndCheck({ order, payment, catalog }, userIds, result, { finalWithinMs: 60_000 });
    // Sagas a kill cut short: orders placed before a kill and last changed after it.
    const cutShort = books.orders.filter((o) => {
      const placed = o.createdAt ? timestampMs(o.createdAt) : 0;
      const settled = o.updatedAt ? timestampMs(o.updatedAt) : 0;
      return killedAt.some((t) => placed < t && t < settled);
    });
    kills.push(`  orders placed before a kill and settled after it: ${cutShort.length}`);
    console.log(
      [
        `embedded crash test: ${killedAt.length} kills (SIGKILL) of the whole mesh under ${SHOPPERS} shoppers' checkout load`,
        ...kills,
        ...books.summary,
      ].join("\n"),
    );
    expect(books).toMatchObject(balancedBooks);
    // The kills landed in the middle of sagas, which finished after the restart.
    expect(cutShort.length).toBeGreaterThan(0);
  });
});
