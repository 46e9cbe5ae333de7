import { randomBytes } from "node:crypto";
import { type KafkaTestBroker, describeWithKafka, postgresTestUrl, useKafkaBroker } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, beforeEach, describe, expect } from "vitest";
import { type DistributedMesh, dropServiceDatabases, type ProcessExit, serviceNames, startDistributed } from "../distributed-mesh.js";
import { productStock, Shopper } from "../shopper.js";

/** The server the meshes' databases go on: POSTGRES_URL when a test is told to use one, or the tests' own. */
const postgresUrl = () => process.env.POSTGRES_URL ?? postgresTestUrl();

/** What a suite of {@link describeDistributed} works with; read it inside tests and hooks. */
export interface DistributedFixture {
  readonly mesh: DistributedMesh;
  /** The suite's own Kafka-protocol broker (it can be taken down and up). */
  readonly kafka: KafkaTestBroker;
  readonly postgresUrl: string;
  /** Prefix of the suite's service databases on that server. */
  readonly dbPrefix: string;
  /** Processes that ended without being asked to; a test that expects one empties it. */
  readonly unexpectedExits: ProcessExit[];
  /** Remembers the pids of the running processes; the suite checks none outlives the mesh. */
  notePids(): void;
  /** A new shopper with a unique email, signed up through the edge. */
  signup(name: string): Promise<Shopper>;
  /**
   * The token of a shopper of the suite's own, for reads that must reach the services: the edge
   * keeps anonymous catalog answers for up to twice EDGE_READ_CACHE_MAX_AGE_MS.
   */
  readerToken(): Promise<string>;
  /** A product's stock as the catalog holds it now, read through the edge signed in (see productStock). */
  stock(productId: string): Promise<number>;
}

/**
 * A suite on a distributed mesh of its own: every service and the edge as its own process, each
 * service on its own Postgres database (under a random prefix, dropped afterwards), the events
 * through a Kafka-protocol broker of the suite's own (librdkafka's mock). Skipped or failing like
 * the other infrastructure suites when the broker cannot be had here. The processes
 * log warnings and errors; a failing test prints what they wrote meanwhile.
 */
export function describeDistributed(title: string, fn: (fixture: DistributedFixture) => void): void {
  describeWithKafka(
    title,
    () => {
      describe("on Postgres", () => {
        const kafka = useKafkaBroker();
        const prefix = `shopmesh_t${randomBytes(4).toString("hex")}`;
        const output: string[] = [];
        const unexpectedExits: ProcessExit[] = [];
        const pids = new Set<number>();
        let mesh: DistributedMesh | undefined;
        let emails = 0;
        let reader: Promise<Shopper> | undefined;

        const current = (): DistributedMesh => {
          if (!mesh) throw new Error("the distributed mesh is not started: use it inside tests or hooks");
          return mesh;
        };
        const fixture: DistributedFixture = {
          get mesh() {
            return current();
          },
          kafka,
          get postgresUrl() {
            return postgresUrl();
          },
          dbPrefix: prefix,
          unexpectedExits,
          notePids() {
            const m = current();
            for (const name of m.processes) {
              const pid = m.pid(name);
              if (pid !== undefined) pids.add(pid);
            }
          },
          signup: (name) => Shopper.signup(current().url, `${name}-${++emails}@example.com`),
          async readerToken() {
            reader ??= fixture.signup("stock-reader");
            return (await reader).token;
          },
          async stock(productId) {
            return productStock(current().url, productId, await fixture.readerToken());
          },
        };

        beforeAll(async () => {
          const ports = Object.fromEntries(serviceNames.map((s) => [`${s.toUpperCase()}_PORT`, "0"]));
          mesh = await startDistributed(
            {
              ...process.env,
              ...ports,
              POSTGRES_URL: postgresUrl(),
              SHOPMESH_DB_PREFIX: prefix,
              KAFKA_BROKERS: kafka.brokers.join(","),
              EDGE_PORT: "0",
              LOG_LEVEL: "warn",
            },
            {
              output: (name, _stream, line) => {
                output.push(`${name} | ${line}`);
              },
              onUnexpectedExit: (exit) => unexpectedExits.push(exit),
              readyTimeoutMs: 90_000,
            },
          );
          fixture.notePids();
        }, 120_000);

        afterAll(async () => {
          try {
            if (mesh) {
              fixture.notePids();
              await mesh.stop();
            }
            // No process outlives the mesh.
            const alive = [...pids].filter((pid) => {
              try {
                process.kill(pid, 0);
                return true;
              } catch {
                return false;
              }
            });
            expect(alive).toEqual([]);
          } finally {
            await dropServiceDatabases(postgresUrl(), prefix);
          }
        }, 60_000);

        beforeEach((ctx) => {
          const from = output.length;
          ctx.onTestFailed(() => {
            console.error(`process output during "${ctx.task.name}":\n${output.slice(from).slice(-200).join("\n")}`);
          });
        });

        fn(fixture);
      });
    },
    { ownBroker: true },
  );
}
