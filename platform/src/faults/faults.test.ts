import { create } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService, ProductSchema } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { afterEach, describe, expect, it } from "vitest";
import { faultVars, loadConfig } from "../config.js";
import { createEnvelope, type Envelope } from "../events/envelope.js";
import { createInProcessBus } from "../events/in-process-bus.js";
import { closeClient, createClient } from "../grpc/client.js";
import { serviceRegistration } from "../grpc/service.js";
import { createLogger } from "../logger.js";
import { createServiceHost } from "../service-host.js";
import { catalogHandlers } from "../testing/catalog-handlers.js";
import { databaseBackend, useTestDatabase } from "../testing/index.js";
import { eventsConsumed } from "../telemetry/metrics.js";
import { applyInboxFault, markInboxHandler } from "../events/inbox-fault.js";
import { formatFault, LiveFaults, noFaults, parseFault, parseProviderFault, withBrokerFault, withEventFaults } from "./faults.js";

async function failedDeliveries(type: string): Promise<number> {
  const { values } = await eventsConsumed.get();
  return values.find((v) => v.labels.service === "test" && v.labels.type === type && v.labels.outcome === "failed")?.value ?? 0;
}

const logger = createLogger({ level: "silent" });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("event faults", () => {
  it("a delivery set off inside another's faulted delivery meets only its own type's fault", async () => {
    const inner = createInProcessBus({ logger, retry: { initialMs: 1, maxMs: 5 } });
    cleanups.push(() => inner.close());
    const bus = withEventFaults(inner, new Map([["shop.test.v1.First", parseFault("code=FAILED_PRECONDITION")]]));
    const outcomes: string[] = [];
    const attempt = (type: string) =>
      applyInboxFault().then(
        () => outcomes.push(`${type}: handled`),
        (err) => outcomes.push(`${type}: ${Code[ConnectError.from(err).code]}`),
      );
    const second = createEnvelope(StringValueSchema, create(StringValueSchema, { value: "2" }), { source: "test", key: "k" });
    const first = createEnvelope(StringValueSchema, create(StringValueSchema, { value: "1" }), { source: "test", key: "k" });
    const typed = (e: Envelope, type: string): Envelope => ({ ...e, type });
    // The first type's consumer publishes the second type while its fault is in force.
    bus.subscribe(
      "a",
      ["shop.test.v1.First"],
      markInboxHandler(async () => {
        await attempt("first");
        await bus.publish([typed(second, "shop.test.v1.Second")]);
      }),
    );
    bus.subscribe(
      "b",
      ["shop.test.v1.Second"],
      markInboxHandler(() => attempt("second").then(() => undefined)),
    );
    await bus.publish([typed(first, "shop.test.v1.First")]);
    await expect.poll(() => outcomes).toEqual(["first: FailedPrecondition", "second: handled"]);
  });
});

describe("fault specs", () => {
  it("reads delay, code and rate", () => {
    expect(parseFault("delay=200ms;code=UNAVAILABLE;rate=0.3")).toEqual({ delayMs: 200, code: Code.Unavailable, rate: 0.3 });
    expect(parseFault("code=deadline_exceeded")).toEqual({ delayMs: 0, code: Code.DeadlineExceeded, rate: 1 });
    expect(parseFault(" delay=1.5s ; ")).toEqual({ delayMs: 1500, code: undefined, rate: 1 });
    expect(parseFault("code=14")).toMatchObject({ code: Code.Unavailable });
  });

  it("refuses what it cannot read", () => {
    for (const bad of ["delay=soon", "code=OK", "code=NOPE", "rate=2", "rate=", "jitter=5ms"]) {
      expect(() => parseFault(bad), bad).toThrow();
    }
  });

  it("reads decline in a provider's fault only, never with a code", () => {
    expect(parseProviderFault("decline;rate=0.2")).toEqual({ delayMs: 0, code: undefined, rate: 0.2, decline: true });
    expect(parseProviderFault("code=UNAVAILABLE;delay=2s")).toEqual({ delayMs: 2000, code: Code.Unavailable, rate: 1, decline: false });
    for (const bad of ["decline=yes", "decline;code=UNAVAILABLE", "jitter=5ms"]) expect(() => parseProviderFault(bad), bad).toThrow();
    expect(() => parseFault("decline")).toThrow(/unknown fault setting "decline"/);
    expect(formatFault(parseProviderFault(" decline ; delay=1s; rate=0.5"))).toBe("decline;delay=1000ms;rate=0.5");
  });

  it("is configured by FAULTS_ENABLED and FAULTS_EVENTS, off by default", () => {
    const schema = faultVars();
    expect(loadConfig(schema, {})).toEqual({ FAULTS_ENABLED: false, FAULTS_EVENTS: undefined });
    const on = loadConfig(schema, { FAULTS_ENABLED: "true", FAULTS_EVENTS: "shop.a.v1.X=code=UNAVAILABLE;rate=0.5, *=delay=5ms" });
    expect(on.FAULTS_EVENTS?.get("shop.a.v1.X")).toEqual({ delayMs: 0, code: Code.Unavailable, rate: 0.5 });
    expect(on.FAULTS_EVENTS?.get("*")).toEqual({ delayMs: 5, code: undefined, rate: 1 });
    expect(() => loadConfig(schema, { FAULTS_EVENTS: "shop.a.v1.X" })).toThrow(/FAULTS_EVENTS/);
    expect(() => loadConfig(schema, { FAULTS_EVENTS: "shop.a.v1.X=code=NOPE" })).toThrow(/FAULTS_EVENTS/);
  });
});

describe("broker faults", () => {
  const event = (value: string) => createEnvelope(StringValueSchema, create(StringValueSchema, { value }), { source: "test", key: "k" });

  function faultedBus() {
    const handedOver: string[] = [];
    const inner = {
      publish: async (events: readonly Envelope[]) => {
        handedOver.push(...events.map((e) => e.id));
      },
      resolvesWhen: "handled" as const,
      subscribe: () => ({ unsubscribe: async () => {} }),
      close: async () => {},
    };
    const live = new LiveFaults();
    return { bus: withBrokerFault(inner, live), live, handedOver };
  }

  it("the broker away fails every publish, handing nothing over; cleared, publishes go through", async () => {
    const { bus, live, handedOver } = faultedBus();
    expect(bus.resolvesWhen).toBe("handled");
    live.replace({ ...noFaults, broker: "code=UNAVAILABLE" });
    const a = event("a");
    await expect(bus.publish([a])).rejects.toMatchObject({ code: Code.Unavailable });
    expect(handedOver).toEqual([]);
    live.replace(noFaults);
    await bus.publish([a]);
    expect(handedOver).toEqual([a.id]);
  });

  it("hands publishes over in call order whatever their delays; a failed one fails those behind it", async () => {
    const { bus, live, handedOver } = faultedBus();
    const [a, b, c, d] = ["a", "b", "c", "d"].map(event) as [Envelope, Envelope, Envelope, Envelope];
    live.replace({ ...noFaults, broker: "delay=100ms" });
    const first = bus.publish([a]);
    live.replace(noFaults);
    const second = bus.publish([b]);
    await Promise.all([first, second]);
    expect(handedOver).toEqual([a.id, b.id]);

    live.replace({ ...noFaults, broker: "delay=50ms;code=UNAVAILABLE" });
    const failing = bus.publish([c]);
    live.replace(noFaults);
    const behind = bus.publish([d]);
    await expect(failing).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(behind).rejects.toMatchObject({ code: Code.Unavailable });
    expect(handedOver).toEqual([a.id, b.id]);
    // Called once those settled, a publish starts afresh.
    await bus.publish([c, d]);
    expect(handedOver).toEqual([a.id, b.id, c.id, d.id]);
  });
});

describe("fault injection in a service", () => {
  const t = useTestDatabase(databaseBackend);
  const eventType = StringValueSchema.typeName;

  async function host(env: Record<string, string>) {
    const schema = await t.createSchema();
    const bus = createInProcessBus({ logger, retry: { initialMs: 1, maxMs: 5 } });
    const attempts: string[] = [];
    const handled = new Set<string>();
    const h = createServiceHost({
      name: "test",
      logger,
      db: t.db.kysely(schema),
      schema,
      migrations: {},
      faults: loadConfig(faultVars(), env),
      grpc: { host: "127.0.0.1", port: 0, shutdownGraceMs: 100 },
      bus,
      build: () => ({
        services: [
          serviceRegistration(
            CatalogService,
            catalogHandlers({ getProduct: async (req) => ({ product: create(ProductSchema, { id: req.id, name: "Cup" }) }) }),
          ),
        ],
        subscribe: (b) => [
          b.subscribe("test", [eventType], async (event) => {
            attempts.push(event.id);
            handled.add(event.id);
          }),
        ],
      }),
    });
    const port = await h.start();
    const client = createClient(CatalogService, `127.0.0.1:${port}`, { logger, maxAttempts: 1, breakerThreshold: 1_000 });
    cleanups.push(async () => {
      closeClient(client);
      await h.stop();
      await bus.close();
    });
    const publish = async (n: number) => {
      const events: Envelope[] = [];
      for (let i = 0; i < n; i++) {
        events.push(createEnvelope(StringValueSchema, create(StringValueSchema, { value: `e${i}` }), { source: "test", key: `k${i}` }));
      }
      await bus.publish(events);
      await bus.drain();
      return events;
    };
    return { client, publish, attempts, handled };
  }

  const get = (client: Awaited<ReturnType<typeof host>>["client"], fault: string) =>
    client.getProduct({ id: "p-1" }, { metadata: { "x-fault": fault } }).then(
      () => "ok",
      (e: unknown) => ConnectError.from(e).code,
    );

  it("honours x-fault when enabled: the code, the delay, the rate; a malformed one is INVALID_ARGUMENT", async () => {
    const { client } = await host({ FAULTS_ENABLED: "true" });
    expect(await get(client, "code=UNAVAILABLE")).toBe(Code.Unavailable);
    expect(await get(client, "code=RESOURCE_EXHAUSTED;rate=1")).toBe(Code.ResourceExhausted);
    expect(await get(client, "code=UNAVAILABLE;rate=0")).toBe("ok");
    const started = performance.now();
    expect(await get(client, "delay=200ms")).toBe("ok");
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect(await get(client, "code=WHATEVER")).toBe(Code.InvalidArgument);
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => get(client, "code=UNAVAILABLE;rate=0.5")));
    const failed = outcomes.filter((o) => o === Code.Unavailable).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(55);
  });

  it("ignores x-fault when disabled", async () => {
    const { client } = await host({});
    expect(await get(client, "code=UNAVAILABLE")).toBe("ok");
    const started = performance.now();
    expect(await get(client, "delay=500ms;code=INTERNAL")).toBe("ok");
    expect(performance.now() - started).toBeLessThan(400);
  });

  it("fails event deliveries of the configured type transiently: each event is handled in the end, after redeliveries", async () => {
    const { publish, attempts, handled } = await host({ FAULTS_ENABLED: "true", FAULTS_EVENTS: `${eventType}=code=UNAVAILABLE;rate=0.5` });
    const before = await failedDeliveries(eventType);
    const events = await publish(20);
    expect(handled).toEqual(new Set(events.map((e) => e.id)));
    // The handler saw each event once; about as many deliveries before failed.
    expect(attempts).toHaveLength(20);
    expect((await failedDeliveries(eventType)) - before).toBeGreaterThan(3);
  });

  it("leaves event deliveries alone when disabled, even with FAULTS_EVENTS set", async () => {
    const { publish, handled } = await host({ FAULTS_EVENTS: `${eventType}=code=UNAVAILABLE;rate=1` });
    const before = await failedDeliveries(eventType);
    const events = await publish(5);
    expect(handled).toEqual(new Set(events.map((e) => e.id)));
    expect((await failedDeliveries(eventType)) - before).toBe(0);
  });
});
