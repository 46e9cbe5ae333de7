/**
 * `npm start`: the whole shop in one process. The service worker thread is set off first, so that
 * it loads its services' modules while this thread loads the rest of the mesh (embedded-run.ts):
 * module loading is most of a warm start, and the two threads do it on two cores at once.
 */
import { prestartServiceWorker } from "./service-worker-prestart.js";

if (process.env.SHOPMESH_WORKER_THREAD?.trim() !== "none") prestartServiceWorker();
await import("./embedded-run.js");
