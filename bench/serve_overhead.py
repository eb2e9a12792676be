"""What albertc serve adds around the encoder at concurrency 1 (bench/serve_bench.sh).

One keep-alive connection posts the bodies one after another (after 10 warm-up
requests) to /predict and to /tokenize, and prints medians of:
  round trip      the client's wall time per request
  inference       x-inference-time: the encoder batch and the head
  queue           x-queue-time: submitted to the encoder thread until it starts
  around          round trip - inference: parsing, tokenizing, the hand-over to
                  the encoder thread and back, the answer's JSON, HTTP both ways
/tokenize runs no encoder: its round trip is that floor alone.
Usage: serve_overhead.py PORT BODIES.jsonl N"""
import http.client
import statistics
import sys
import time


def run(port, path, bodies):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    rows = []
    for i, body in enumerate(bodies):
        t0 = time.perf_counter()
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        wall = 1e3 * (time.perf_counter() - t0)
        if resp.status != 200:
            sys.exit(f"{path}: status {resp.status}")
        if i >= 10:
            rows.append((wall, float(resp.getheader("x-inference-time")), float(resp.getheader("x-queue-time"))))
    conn.close()
    return rows


def main():
    port, n = int(sys.argv[1]), int(sys.argv[3])
    bodies = open(sys.argv[2]).read().splitlines()
    bodies = [bodies[i % len(bodies)] for i in range(n + 10)]
    med = statistics.median
    for path in ("/predict", "/tokenize"):
        rows = run(port, path, bodies)
        wall, inference, queue = (med(r[k] for r in rows) for k in range(3))
        around = med(r[0] - r[1] for r in rows)
        print(f"concurrency 1, {path:9s} medians of {len(rows)}: round trip {wall:7.2f} ms, inference {inference:7.2f} ms, "
              f"queue {queue:.3f} ms, around the encoder {around:.2f} ms")


if __name__ == "__main__":
    main()
