"""Reads a topic to its end with Confluent's Python client and AvroDeserializer (schemas fetched from the
registry by the id in each record, as any Confluent consumer does); prints one JSON object per record:
partition, offset, key, value (None for a tombstone), headers. read_committed, like the product's sink.

    python read_topic.py <bootstrap servers> <schema registry url> <topic>
"""
import datetime
import json
import sys

from confluent_kafka import DeserializingConsumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer


def plain(v):
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    raise TypeError(f"not JSON: {type(v)}")


def main(brokers: str, registry: str, topic: str) -> None:
    sr = SchemaRegistryClient({"url": registry})
    consumer = DeserializingConsumer({
        "bootstrap.servers": brokers,
        "group.id": "python-read-topic",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "key.deserializer": AvroDeserializer(sr),
        "value.deserializer": AvroDeserializer(sr),
    })
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    # With read_committed the high watermark of a settled topic is the last stable offset; transaction
    # markers take offsets too, so a partition is done when the consumer's position reaches it.
    ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    pending = {p for p, end in ends.items() if end > 0}
    while pending:
        msg = consumer.poll(1.0)
        if msg is None:
            positions = consumer.position([TopicPartition(topic, p) for p in pending])
            pending -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
            continue
        if msg.error():
            raise SystemExit(f"read_topic: {msg.error()}")
        print(json.dumps({
            "partition": msg.partition(),
            "offset": msg.offset(),
            "key": msg.key(),
            "value": msg.value(),
            "headers": {k: (v.decode() if v is not None else None) for k, v in (msg.headers() or [])},
        }, default=plain))
        if msg.offset() >= ends[msg.partition()] - 1:
            pending.discard(msg.partition())
    consumer.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
