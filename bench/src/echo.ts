// The bare gRPC echo of the baseline: its method, payload and channel options, shared by the
// baseline server and the bench's own bare client.
export const CHANNEL_OPTIONS = { "grpc.enable_channelz": 0, "grpc.enable_retries": 0 } as const;
export const ECHO_PATH = "/bench.v1.EchoService/Echo";

// A reply of roughly the size of one product as JSON.
export const PAYLOAD = Buffer.from(
  JSON.stringify({
    id: "prod_0001",
    name: "Baseline product",
    description: "A fixed payload of about the size of a catalog product, echoed over gRPC.",
    price_cents: 1999,
    currency: "EUR",
    image_url: "https://example.invalid/images/prod_0001.png",
    categories: ["baseline", "bench"],
    stock: 42,
  }),
);

export const passthrough = (value: Buffer): Buffer => value;
