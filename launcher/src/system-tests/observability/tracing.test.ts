import { captureSpans } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedMesh, startEmbedded } from "../../embedded-mesh.js";
import { Shopper } from "../../shopper.js";
import { paidCheckoutTrace, paidCheckoutTraceProblems } from "./checkout-trace.js";

/**
 * One purchase in embedded mode, every span recorded in memory: one trace from the edge through
 * every gRPC hop and every event to the email, each consumer's span a child of the span that
 * published its event.
 */

const capture = captureSpans();
let mesh: EmbeddedMesh;

beforeAll(async () => {
  // One thread: the spans are captured in this one (a worker thread exports its own through OTLP).
  mesh = await startEmbedded({
    ...process.env,
    EDGE_PORT: "0",
    LOG_LEVEL: "silent",
    SHOPMESH_DATA_DIR: "memory",
    SHOPMESH_WORKER_THREAD: "none",
  });
});

afterAll(async () => {
  await mesh?.stop();
});

describe("tracing in embedded mode", () => {
  it("follows a checkout as one trace from the edge to the email, consumers parented to the producing spans", async () => {
    const shopper = await Shopper.signup(mesh.url, "traced@example.com");
    const products = await shopper.call<{ items: Array<{ id: string }> }>("GET", "/api/products");
    await shopper.addItem(products.body.items[0]!.id, 1);
    capture.reset();
    const placed = await shopper.checkout();
    expect((await shopper.waitFinal(placed.order_id)).status).toBe("paid");

    expect(paidCheckoutTraceProblems(await paidCheckoutTrace(capture, 5_000))).toEqual([]);
  });
});
