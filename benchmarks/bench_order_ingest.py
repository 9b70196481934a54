"""order_ingest's memory and time per batch: the measurement the Lambda's memory_size rests on.

    python benchmarks/bench_order_ingest.py             # prints the figures
    python benchmarks/run.py --only order_ingest        # the same, in the project's table

How: a fresh Python process (as a Lambda execution environment is) imports the handler and
runs it on BATCHES Kinesis batches of BATCH_SIZE order events (the mapping's batch_size
default, 100, and its maximum worth considering, 1000), against platformctl's moto server in
another process, so moto's own memory is not counted: boto3 reaches it through
AWS_ENDPOINT_URL. The child reports its peak RSS (ru_maxrss, which includes the interpreter,
boto3 and its four clients, the runtime's share on Lambda) and the duration of the first
(cold: the handler's import, its four clients and the secret read; boto3 itself is already
imported by the set-up) and later (warm) invocations.

Targets: peak RSS at most half the configured memory_size (256 MB: headroom for larger
events and for Lambda's own runtime), and a warm batch of 100 well within the function's
30 s timeout. Measured here (2026-12, moto 5.2, Python 3.11, x86_64): peak RSS 55 MB with
batches of 100, 59 MB with batches of 1000 (the handler itself adds 1-5 MB over boto3 and its
clients); a warm batch of 100 in 0.4-1.3 s (with the machine idle or busy), almost all of it moto
answering 100 puts. There
is no Lambda CPU cap here; on Lambda, CPU scales with memory (1769 MB = 1 vCPU), so measure
again with a real invocation before lowering memory below 256 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from harness import Figure  # noqa: E402  (needs the path above)

REPO = HERE.parent
MEMORY_SIZE_MB = 256  # terraform/environments/{local,dev}/main.tf module.order_ingest.memory_size
BATCHES = 5

CHILD = r"""
import base64, json, os, resource, sys, time
import boto3

endpoint = os.environ["AWS_ENDPOINT_URL"]
size = int(sys.argv[1]); batches = int(sys.argv[2]); handler_dir = sys.argv[3]
setup = dict(endpoint_url=endpoint, region_name="us-east-1")
s3, ddb, sqs, sm = (boto3.client(n, **setup) for n in ("s3", "dynamodb", "sqs", "secretsmanager"))
s3.create_bucket(Bucket="bench-raw")
ddb.create_table(TableName="bench-orders", BillingMode="PAY_PER_REQUEST",
    KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}])
os.environ.update(RAW_BUCKET="bench-raw", ORDERS_TABLE="bench-orders",
    FAILURE_QUEUE_URL=sqs.create_queue(QueueName="bench-failures")["QueueUrl"],
    HMAC_SECRET_ARN=sm.create_secret(Name="bench-hmac", SecretString="k" * 64)["ARN"])
del s3, ddb, sqs, sm
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

sys.path.insert(0, handler_dir)
started = time.perf_counter()
import handler
durations = []
for b in range(batches):
    records = []
    for i in range(size):
        event = {"order_id": f"o-{b}-{i}", "customer_id": f"c-{i % 97}", "email": f"c{i}@example.com",
                 "status": "PLACED", "version": 1, "created_at": "2026-03-07T10:15:00Z",
                 "items": [{"sku": f"sku-{j}", "quantity": 1 + j, "price": 9.99} for j in range(3)],
                 "total": 59.94, "currency": "EUR"}
        records.append({"eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/bench",
            "kinesis": {"data": base64.b64encode(json.dumps(event).encode()).decode(),
                        "sequenceNumber": f"{b:04}{i:06}", "partitionKey": event["order_id"],
                        "approximateArrivalTimestamp": 1767225600.0}})
    start = time.perf_counter() if b else started
    result = handler.lambda_handler({"Records": records})
    durations.append(time.perf_counter() - start)
    assert result == {"batchItemFailures": []}, result
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_mb": peak_kb / 1024, "before_handler_mb": base / 1024,
                  "cold_s": durations[0], "warm_s": durations[1:]}))
"""


def measure(batch_size: int, batches: int = BATCHES) -> dict:
    """One fresh process: peak RSS and per-batch durations of the handler on `batches` batches."""
    sys.path.insert(0, str(REPO / "tests"))
    from terraform.moto_roots import platformctl_moto

    with tempfile.TemporaryDirectory() as folder, platformctl_moto(Path(folder) / "moto.log") as moto:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=moto.endpoint, AWS_DEFAULT_REGION="us-east-1")
        env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"})  # emulator placeholders
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(batch_size), str(batches), str(REPO / "functions" / "order_ingest")],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=600,
        )
    if result.returncode != 0:
        raise RuntimeError(f"the handler run failed: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run() -> list[Figure]:
    small = [measure(100) for _ in range(3)]
    large = [measure(1000, batches=2)]  # against moto a batch of 1000 takes ~15 s: one sample
    return [
        Figure(
            "order_ingest peak RSS, batches of 100 (MB)",
            tuple(s["peak_rss_mb"] for s in small),
            target=MEMORY_SIZE_MB / 2,
            unit=" MB",
        ),
        Figure(
            "order_ingest peak RSS, batches of 1000 (MB)",
            tuple(s["peak_rss_mb"] for s in large),
            target=MEMORY_SIZE_MB / 2,
            unit=" MB",
        ),
        Figure("order_ingest warm batch of 100", tuple(d for s in small for d in s["warm_s"]), target=10.0),
        Figure("order_ingest cold batch of 100", tuple(s["cold_s"] for s in small), target=15.0),
    ]


if __name__ == "__main__":
    for figure in run():
        status = "ok" if figure.passed else "MISSED"
        print(
            f"{figure.name}: median {figure.median:.2f}{figure.unit} "
            f"(min {min(figure.samples):.2f}, max {max(figure.samples):.2f}; target <= {figure.target}) {status}"
        )
