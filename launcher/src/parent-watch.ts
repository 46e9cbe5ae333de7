/**
 * Preloaded (`node --import`) into every process the distributed launcher starts. The launcher
 * holds an IPC channel to each child; when the launcher goes away in any way (kill -9 included)
 * the channel closes, and the child stops as on SIGTERM, or is ended if that takes longer than
 * the grace. So no service outlives its launcher.
 */

const GRACE_MS = 15_000;

const channel = process.channel;
if (channel) {
  // The channel alone must not keep a finished process alive.
  channel.unref();
  process.once("disconnect", () => {
    process.kill(process.pid, "SIGTERM");
    setTimeout(() => {
      process.stderr.write(`launcher gone and not stopped after ${GRACE_MS} ms: exiting\n`);
      process.exit(1);
    }, GRACE_MS).unref();
  });
}
