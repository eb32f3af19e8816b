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

# The state an owner keeps beside its stream (a conversation's status and participants, an agent
# pool's enrolment and queue), as JSON, written in the same batch as the entry that changed it.
struct OwnerState {
  data @0 :Text;
}
