"""Without confluent-kafka installed, the Kafka source fails with a clear DispatchError."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from lagoform.dispatch.kafka import KafkaSettings, KafkaWorker
from lagoform.errors import DispatchError


def test_missing_confluent_kafka_is_a_dispatch_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import confluent_kafka` raise ImportError.
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)
    settings = KafkaSettings(brokers="127.0.0.1:1", topic="usage", group="g")
    unused: Any = object()
    with pytest.raises(DispatchError, match=r"lagoform\[kafka\]"):
        KafkaWorker(settings, unused, unused)
