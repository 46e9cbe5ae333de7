import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The mock broker script; the same relative path from src/testing and dist/testing. */
const BROKER_SCRIPT = fileURLToPath(new URL("../../../scripts/kafka-test-broker.py", import.meta.url));
/** Debian's interpreter: a pyenv `python3` earlier on PATH lacks the system packages. */
const PYTHON = "/usr/bin/python3";

/** A Kafka-protocol broker for a test: librdkafka's mock cluster in a child process. */
export interface KafkaTestBroker {
  /** Bootstrap addresses, `127.0.0.1:<port>`. */
  readonly brokers: string[];
  /** Takes the broker away: its connections close and new ones are refused; address and data stay. */
  down(): Promise<void>;
  /** Brings it back at the same address. */
  up(): Promise<void>;
  /** Ends the broker process. */
  stop(): Promise<void>;
}

/**
 * Starts `scripts/kafka-test-broker.py` (needs {@link kafkaTestInfra}`().canStartBroker`) and
 * resolves once it listens. Topics are auto-created with 4 partitions; the process also ends
 * when this one does (its stdin closes).
 */
export async function startKafkaTestBroker(opts: { brokers?: number } = {}): Promise<KafkaTestBroker> {
  const child = spawn(PYTHON, [BROKER_SCRIPT, "--brokers", String(opts.brokers ?? 1)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const replies: Array<(line: string) => void> = [];
  let address: ((line: string) => void) | undefined;
  const started = new Promise<string>((resolve) => {
    address = resolve;
  });
  lines.on("line", (line) => {
    if (address) {
      const resolve = address;
      address = undefined;
      resolve(line.trim());
    } else replies.shift()?.(line.trim());
  });
  const exited = once(child, "exit");
  const failed = exited.then(([code, signal]) => {
    throw new Error(`kafka-test-broker.py exited (${signal ?? code}) before listening: ${stderr.trim() || "no output"}`);
  });
  failed.catch(() => undefined);
  let line: string;
  try {
    line = await Promise.race([started, failed, timeout(10_000, `kafka-test-broker.py did not print its address within 10 s: ${stderr}`)]);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const brokers = line.split(",").filter(Boolean);
  if (brokers.length === 0) throw new Error(`kafka-test-broker.py printed no address: ${JSON.stringify(line)}`);

  let stopped = false;
  async function command(name: "down" | "up"): Promise<void> {
    if (stopped || child.exitCode !== null) throw new Error("the Kafka test broker is stopped");
    const reply = new Promise<string>((resolve) => replies.push(resolve));
    child.stdin.write(`${name}\n`);
    const answer = await Promise.race([reply, timeout(5_000, `kafka-test-broker.py did not answer ${name}`)]);
    if (answer !== `ok ${name}`) throw new Error(`kafka-test-broker.py: ${answer}`);
  }
  return {
    brokers,
    down: () => command("down"),
    up: () => command("up"),
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate(child, exited);
    },
  };
}

async function terminate(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.stdin?.end();
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

/** Where Kafka-protocol suites get a broker here. */
export interface KafkaTestInfra {
  /** KAFKA_BROKERS, split (empty when unset): a shared broker, e.g. the one `.ci/run` starts. */
  readonly brokers: readonly string[];
  /** Whether {@link startKafkaTestBroker} works here (Debian's python3 with librdkafka). */
  readonly canStartBroker: boolean;
}

let infra: KafkaTestInfra | undefined;

/**
 * Probes (once per process, synchronously: suites are declared synchronously) for a Kafka
 * broker: a mock of its own can be started, or KAFKA_BROKERS names a shared one.
 */
export function kafkaTestInfra(): KafkaTestInfra {
  if (infra) return infra;
  const brokers = (process.env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter(Boolean);
  infra = { brokers, canStartBroker: probeMockBroker() };
  return infra;
}

function probeMockBroker(): boolean {
  if (!existsSync(PYTHON) || !existsSync(BROKER_SCRIPT)) return false;
  try {
    execFileSync(PYTHON, [BROKER_SCRIPT, "--check"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a suite that needs Kafka cannot have a broker here, or undefined when it can: without a
 * mock broker of its own or KAFKA_BROKERS, or, with `ownBroker` (the suite takes its broker down
 * and up, so the shared KAFKA_BROKERS does not do), without a mock broker of its own.
 */
export function kafkaMissing(opts: { ownBroker?: boolean } = {}): string | undefined {
  const { brokers, canStartBroker } = kafkaTestInfra();
  if (canStartBroker) return undefined;
  const cannotStart = `${PYTHON} ${BROKER_SCRIPT} cannot start a mock broker (run scripts/ensure-kafka.sh)`;
  if (opts.ownBroker) return `it needs a broker of its own and ${cannotStart}`;
  return brokers.length === 0 ? `KAFKA_BROKERS is not set and ${cannotStart}` : undefined;
}

/**
 * A broker for a suite: a fresh mock of its own when one can be started here (clean topics and
 * groups; `down`/`up` work), else the shared KAFKA_BROKERS (`down`/`up` then throw; name topics
 * and groups uniquely).
 */
export async function openKafkaTestBroker(): Promise<KafkaTestBroker> {
  const { canStartBroker, brokers } = kafkaTestInfra();
  if (canStartBroker) return startKafkaTestBroker();
  const unsupported = async () => {
    throw new Error("this test needs a Kafka broker of its own (scripts/kafka-test-broker.py), not the shared KAFKA_BROKERS");
  };
  return { brokers: [...brokers], down: unsupported, up: unsupported, stop: async () => {} };
}
