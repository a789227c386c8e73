"""Parses Prometheus text exposition on stdin with the Prometheus project's own parser
(python3-prometheus-client) and prints one sample a line: name, labels, value, tab-separated.
A malformed exposition makes the parser raise, and this exits non-zero."""
import sys
from prometheus_client.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}\t{labels}\t{s.value!r}")
