// The suite helpers of the testing kit: `describe` wrappers and fixtures held from `beforeAll` to
// `afterAll`. They are the kit's only code that imports vitest, so they live here, in a file
// named for test code, apart from the helpers any process may use.
import { afterAll, beforeAll, describe } from "vitest";
import { type DatabaseBackend, databaseBackend, type TestDatabase } from "./database-backends.js";
import { type FaultyDatabase, openFaultyDatabase } from "./database-faults.js";
import { type KafkaTestBroker, kafkaMissing, openKafkaTestBroker } from "./kafka-broker.js";
import { promtoolMissing } from "./promtool.js";

/**
 * A `describe` for suites that need a tool the machine may lack: `why` says what is missing
 * (undefined when nothing is). Without it the suite is skipped, the reason in its name, unless
 * REQUIRE_INFRA=1 (CI), which turns the lack into a failure of the suite.
 */
export function describeNeeding(title: string, why: string | undefined, fn: () => void): void {
  const skip = why !== undefined && process.env.REQUIRE_INFRA !== "1";
  describe.skipIf(skip)(skip ? `${title} (skipped: ${why}; REQUIRE_INFRA=1 turns this into a failure)` : title, () => {
    if (why !== undefined) {
      beforeAll(() => {
        throw new Error(`REQUIRE_INFRA=1 but ${why}`);
      });
    }
    fn();
  });
}

/** A `describe` for suites that check output with promtool (see {@link describeNeeding}). */
export function describeWithPromtool(title: string, fn: () => void): void {
  describeNeeding(title, promtoolMissing(), fn);
}

/**
 * A `describe` for suites that need Kafka (see {@link describeNeeding}). `ownBroker`: the suite
 * takes its broker down and up, so the shared KAFKA_BROKERS does not do.
 */
export function describeWithKafka(title: string, fn: () => void, opts: { ownBroker?: boolean } = {}): void {
  describeNeeding(title, kafkaMissing(opts), fn);
}

/**
 * Declares `fn`'s tests in a `describe` named after the backend.
 *
 * ```ts
 * forEachBackend((backend) => {
 *   const t = useTestDatabase(backend);
 *   test("…", async () => { await t.kysely().selectFrom("products")… });
 * });
 * ```
 */
export function forEachBackend(fn: (backend: DatabaseBackend) => void): void {
  describe(databaseBackend.name, () => fn(databaseBackend));
}

/**
 * Opens a {@link TestDatabase} in `beforeAll` of the enclosing suite and cleans it up in
 * `afterAll`; the returned object reads through to it (use it inside tests and hooks).
 */
export function useTestDatabase(backend: DatabaseBackend): TestDatabase {
  let opened: TestDatabase | undefined;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(async () => {
    const t = opened;
    opened = undefined;
    await t?.cleanup();
  });
  const current = (): TestDatabase => {
    if (!opened) throw new Error(`the ${backend.name} test database is not open: use it inside tests or hooks`);
    return opened;
  };
  return {
    get db() {
      return current().db;
    },
    get schema() {
      return current().schema;
    },
    kysely: <DB>() => current().kysely<DB>(),
    createSchema: () => current().createSchema(),
    // afterAll cleans up; nothing for the suite to do.
    cleanup: async () => {},
  };
}

/**
 * Opens a {@link FaultyDatabase} in `beforeAll` of the enclosing suite and closes it in
 * `afterAll` (after the suite's own `afterAll` hooks have stopped the service); the returned
 * object reads through to it.
 */
export function useFaultyDatabase(): FaultyDatabase {
  let opened: FaultyDatabase | undefined;
  beforeAll(async () => {
    opened = await openFaultyDatabase();
  });
  afterAll(async () => {
    await opened?.goDown();
    await opened?.db.close();
    opened = undefined;
  });
  const current = () => {
    if (!opened) throw new Error("the faulty database is not open: use it inside tests or hooks");
    return opened;
  };
  return {
    get db() {
      return current().db;
    },
    goDown: () => current().goDown(),
  };
}

/**
 * A broker for the enclosing suite, from `beforeAll` to `afterAll` ({@link openKafkaTestBroker}:
 * a mock of its own when one can be started here, else the shared KAFKA_BROKERS). Read it inside
 * tests and hooks.
 */
export function useKafkaBroker(): KafkaTestBroker {
  let broker: KafkaTestBroker | undefined;
  beforeAll(async () => {
    broker = await openKafkaTestBroker();
  });
  afterAll(async () => {
    const b = broker;
    broker = undefined;
    await b?.stop();
  });
  const current = (): KafkaTestBroker => {
    if (!broker) throw new Error("the Kafka test broker is not started: use it inside tests or hooks");
    return broker;
  };
  return {
    get brokers() {
      return current().brokers;
    },
    down: () => current().down(),
    up: () => current().up(),
    stop: () => current().stop(),
  };
}
