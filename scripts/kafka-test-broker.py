#!/usr/bin/python3
"""A Kafka-protocol broker for tests: librdkafka's mock cluster, on 127.0.0.1.

Run with Debian's interpreter (`/usr/bin/python3 scripts/kafka-test-broker.py`); it needs
librdkafka (Debian's `librdkafka1`, which `python3-confluent-kafka` brings, see
scripts/ensure-kafka.sh). Prints the bootstrap address (`127.0.0.1:<port>`, comma-separated
with --brokers N) as the first line on stdout, then serves until SIGTERM/SIGINT or, unless
--until-killed, until stdin closes (so a test runner that dies takes its broker along).

The mock listens on a port the kernel picks; it cannot be given one. To take the broker away
and bring it back at the same address with its topics, offsets and groups intact, write
`down` or `up` lines to stdin (each answered by `ok down` / `ok up` on stdout) or send
SIGUSR1 (down) / SIGUSR2 (up). A broker that is down closes its connections and refuses new
ones. `--check` only verifies that the mock can run here.

Topics are created on first use (metadata or produce requests) with 4 partitions. The mock has no controller: CreateTopics, idempotent and transactional producers fail on it.

The mock control API (down/up) is not exposed by confluent_kafka, so librdkafka is driven
through ctypes; it is the library confluent_kafka itself runs on.
"""

import argparse
import ctypes
import ctypes.util
import signal
import sys
import threading


def load_librdkafka():
    names = ["librdkafka.so.1", ctypes.util.find_library("rdkafka")]
    errors = []
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as err:
            errors.append(str(err))
    else:
        raise RuntimeError("librdkafka not found (install python3-confluent-kafka or librdkafka1): " + "; ".join(errors))

    vp, cp, i32 = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32
    sigs = {
        "rd_kafka_version_str": ([], cp),
        "rd_kafka_conf_new": ([], vp),
        "rd_kafka_conf_set": ([vp, cp, cp, cp, ctypes.c_size_t], ctypes.c_int),
        "rd_kafka_new": ([ctypes.c_int, vp, cp, ctypes.c_size_t], vp),
        "rd_kafka_destroy": ([vp], None),
        "rd_kafka_mock_cluster_new": ([vp, ctypes.c_int], vp),
        "rd_kafka_mock_cluster_destroy": ([vp], None),
        "rd_kafka_mock_cluster_bootstraps": ([vp], cp),
        "rd_kafka_mock_broker_set_down": ([vp, i32], ctypes.c_int),
        "rd_kafka_mock_broker_set_up": ([vp, i32], ctypes.c_int),
    }
    for name, (argtypes, restype) in sigs.items():
        fn = getattr(lib, name, None)
        if fn is None:
            raise RuntimeError(f"librdkafka has no {name}: it is too old for the mock cluster")
        fn.argtypes = argtypes
        fn.restype = restype
    return lib


class MockCluster:
    def __init__(self, lib, brokers):
        self.lib = lib
        self.broker_ids = list(range(1, brokers + 1))
        self.lock = threading.Lock()
        err = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The handle only hosts the mock cluster's thread; it connects nowhere.
        settings = {
            "log_level": "3",
            "test.mock.num.brokers": "0",
            "bootstrap.servers": "",
        }
        for key, value in settings.items():
            if lib.rd_kafka_conf_set(conf, key.encode(), value.encode(), err, len(err)) != 0:
                raise RuntimeError(f"{key}: {err.value.decode()}")
        self.rk = lib.rd_kafka_new(0, conf, err, len(err))  # RD_KAFKA_PRODUCER
        if not self.rk:
            raise RuntimeError(err.value.decode())
        self.mcluster = lib.rd_kafka_mock_cluster_new(self.rk, brokers)
        if not self.mcluster:
            raise RuntimeError("rd_kafka_mock_cluster_new failed")

    def bootstraps(self):
        return self.lib.rd_kafka_mock_cluster_bootstraps(self.mcluster).decode()

    def set(self, up):
        with self.lock:
            fn = self.lib.rd_kafka_mock_broker_set_up if up else self.lib.rd_kafka_mock_broker_set_down
            for broker_id in self.broker_ids:
                rc = fn(self.mcluster, broker_id)
                if rc != 0:
                    raise RuntimeError(f"setting broker {broker_id} {'up' if up else 'down'} failed: {rc}")

    def destroy(self):
        self.lib.rd_kafka_mock_cluster_destroy(self.mcluster)
        self.lib.rd_kafka_destroy(self.rk)


def main():
    parser = argparse.ArgumentParser(description="librdkafka mock Kafka cluster for tests")
    parser.add_argument("--brokers", type=int, default=1, help="number of brokers (default 1)")
    parser.add_argument("--until-killed", action="store_true", help="ignore stdin; run until SIGTERM/SIGINT")
    parser.add_argument("--check", action="store_true", help="only check that the mock can start here")
    args = parser.parse_args()

    lib = load_librdkafka()
    cluster = MockCluster(lib, args.brokers)
    if args.check:
        print(f"librdkafka {lib.rd_kafka_version_str().decode()}: mock cluster at {cluster.bootstraps()}", file=sys.stderr)
        cluster.destroy()
        return 0

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: cluster.set(False))
    signal.signal(signal.SIGUSR2, lambda *_: cluster.set(True))

    print(cluster.bootstraps(), flush=True)

    if not args.until_killed:

        def read_commands():
            for line in sys.stdin:
                command = line.strip()
                if command in ("down", "up"):
                    try:
                        cluster.set(command == "up")
                        print(f"ok {command}", flush=True)
                    except RuntimeError as err:
                        print(f"error {command}: {err}", flush=True)
                elif command:
                    print(f"error unknown command {command!r}", flush=True)
            stop.set()

        threading.Thread(target=read_commands, daemon=True).start()

    # Event.wait with a timeout keeps the main thread responsive to signals.
    while not stop.wait(0.2):
        pass
    cluster.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
