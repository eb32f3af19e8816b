# What Switchboard stores in RocksDB. Field numbers are the on-disk format: add fields, never
# renumber or reuse. See docs/storage.md for the key layout.
@0xb8c1d5e2f3a49607;

$import "/capnp/c++.capnp".namespace("sb::schema");

# One entry of a stream (orders:<m>, conv:<c>, inbox:<p>).
struct Entry {
  seq @0 :UInt64;        # 1, 2, 3 … per stream, no gaps
  id @1 :Text;           # globally unique entry id
  tsMs @2 :Int64;        # append time, ms since the Unix epoch (UTC)
  kind @3 :Text;         # "order", "message", "status", "assigned", …
  data @4 :Text;         # the entry's payload as a JSON document
  idempotencyKey @5 :Text;  # the key the producer gave, empty if none
}

# A principal's cumulative ack on a stream: everything <= seq is delivered.
struct Cursor {
  seq @0 :UInt64;
}

# An Idempotency-Key seen on a stream: a retry answers with the first append.
struct IdempotencyRecord {
  seq @0 :UInt64;
  id @1 :Text;
  expiresAtMs @2 :Int64;
}

# A delivery to make outside Switchboard (an agent's reply to a WeChat or app customer), written
# in the same batch as the entry it delivers and deleted once the channel accepted it.
struct OutboxItem {
  id @0 :Text;             # the entry's id: unique, the receiver's idempotency key
  stream @1 :Text;         # the entry's stream (its partition keys this record)
  seq @2 :UInt64;
  createdMs @3 :Int64;
  payload @4 :Text;        # JSON: channel, merchant, recipient, conv, from, text
  attempts @5 :UInt32;
  nextAttemptMs @6 :Int64;
  lastError @7 :Text;
  failed @8 :Bool;         # given up (permanent error or too old): kept for operators
}

# The state an owner keeps beside its stream (a conversation's status and participants, an agent
# pool's enrolment and queue), as JSON, written in the same batch as the entry that changed it.
struct OwnerState {
  data @0 :Text;
}
