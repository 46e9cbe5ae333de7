// The baseline system, run as a child process of the harness: a bare node:http server that
// forwards every request over one @grpc/grpc-js unary call to a bare grpc-js echo server in the
// same process (the shape of embedded mode, minus everything the mesh adds). Prints one JSON
// line `{"ready":true,"url":...}` on stdout once both listen; exits when stdin closes, so it
// never outlives the harness. Deliberately bare: no deadline, metadata, logging or
// interceptors, so the ratio to it shows what everything the mesh adds costs.
import * as http from "node:http";
import * as grpc from "@grpc/grpc-js";
import { CHANNEL_OPTIONS, ECHO_PATH, PAYLOAD, passthrough } from "./echo.js";

const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passthrough,
    requestDeserialize: passthrough,
    responseSerialize: passthrough,
    responseDeserialize: passthrough,
    originalName: "echo",
  },
};

function startEcho(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(CHANNEL_OPTIONS);
  const echo: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);
  server.addService(echoService, { Echo: echo });
  return new Promise((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ server, port }),
    );
  });
}

function startHttp(client: grpc.Client): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    req.resume();
    client.makeUnaryRequest<Buffer, Buffer>(ECHO_PATH, passthrough, passthrough, PAYLOAD, (err, reply) => {
      if (err || !reply) {
        const body = JSON.stringify({ code: "unavailable", message: err?.details ?? "no reply" });
        res.writeHead(503, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": reply.length });
      res.end(reply);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("could not read the bound port"));
        return;
      }
      resolve({ server, port: address.port });
    });
  });
}

async function main(): Promise<void> {
  const echo = await startEcho();
  const client = new grpc.Client(`127.0.0.1:${echo.port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const web = await startHttp(client);

  const shutdown = () => {
    web.server.close();
    web.server.closeAllConnections();
    client.close();
    echo.server.forceShutdown();
  };
  process.once("SIGTERM", shutdown);
  process.stdin.once("end", shutdown);
  process.stdin.once("error", shutdown);
  process.stdin.resume();

  process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${web.port}`, grpcPort: echo.port })}\n`);
}

main().catch((err: unknown) => {
  console.error("baseline-server failed to start:", err);
  process.exitCode = 1;
  process.stdin.destroy();
});
