// sbctl's human output from given answers: the nodes table with the controller's star, actors,
// inspect with its lists as tables, and unknown fields shown rather than dropped.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "tools/sbctl/human_view.hpp"

namespace sb::sbctl {
namespace {

namespace json = boost::json;

TEST(SbctlHumanView, NodesTableMarksTheController) {
  auto answer = json::parse(R"({"nodes":[
      {"id":"n1","address":"127.0.0.1:8081","cluster_address":"127.0.0.1:9091","state":"up",
       "partitions":22,"connections":3,"owners":10},
      {"id":"n2","address":"127.0.0.1:8082","cluster_address":"127.0.0.1:9092",
       "state":"draining","partitions":0,"connections":12,"owners":0},
      {"id":"n3","address":"127.0.0.1:8083","cluster_address":"127.0.0.1:9093","state":"down",
       "partitions":21,"connections":0,"owners":9}],
      "partition_count":64,"controller":"n2","self":"n1"})");
  EXPECT_EQ(render_nodes(answer),
            "ID   ADDRESS         STATE     PARTITIONS  CONNECTIONS  OWNERS\n"
            "n1   127.0.0.1:8081  up        22          3            10\n"
            "n2*  127.0.0.1:8082  draining  0           12           0\n"
            "n3   127.0.0.1:8083  down      21          0            9\n"
            "\n"
            "partition_count: 64\n"
            "controller: n2\n"
            "self: n1\n");
}

TEST(SbctlHumanView, ReplicationShowsReplicasAndEachBackupsLag) {
  auto answer = json::parse(R"({"replication_factor":3,"under_replicated":1,"partitions":[
      {"partition":7,"owner":"n1","epoch":3,"replicas":["n1","n2","n3"],"live_copies":3,
       "under_replicated":false,"backups":[{"node":"n2","mode":"live","epoch":3,"lsn":40,
       "lag":0},{"node":"n3","mode":"copying","epoch":2,"lsn":9,"lag":31,
       "voter":false}]},
      {"partition":8,"owner":"n2","epoch":5,"replicas":["n2","n4"],"live_copies":1,
       "under_replicated":true,"backups":[]}]})");
  EXPECT_EQ(
      render_replication(answer),
      "PARTITION  OWNER  EPOCH  REPLICAS  LIVE  UNDER  BACKUPS\n"
      "7          n1     3      n1,n2,n3  3     false  n2 live lag 0, n3 copying lag 31 (joining)\n"
      "8          n2     5      n2,n4     1     true   -\n"
      "\n"
      "replication_factor: 3\n"
      "under_replicated: 1\n");
}

TEST(SbctlHumanView, NodesShowUnknownFieldsAndMissingOnes) {
  auto answer = json::parse(R"({"nodes":[{"id":"n1","state":"up","zone":"b","partitions":4}],
      "partition_count":4,"epoch":7})");
  EXPECT_EQ(render_nodes(answer),
            "ID  ADDRESS  STATE  PARTITIONS  CONNECTIONS  OWNERS  ZONE\n"
            "n1  -        up     4           -            -       b\n"
            "\n"
            "partition_count: 4\n"
            "epoch: 7\n");
}

TEST(SbctlHumanView, Actors) {
  auto answer = json::parse(R"({"actors":[
      {"kind":"merchant","id":"m1","node":"n1","stream":"orders:m1","mailbox":0},
      {"kind":"conversation","id":"c-17","node":"n2","stream":"conv:c-17","mailbox":3}]})");
  EXPECT_EQ(render_actors(answer),
            "KIND          ID    NODE  MAILBOX\n"
            "merchant      m1    n1    0\n"
            "conversation  c-17  n2    3\n");
  EXPECT_EQ(render_actors(json::parse(R"({"actors":[]})")), "KIND  ID  NODE  MAILBOX\n");
}

TEST(SbctlHumanView, InspectMerchant) {
  auto answer = json::parse(R"({"stream":"orders:m1","owner":"n1","epoch":3,"partition":17,
      "seq":42,"mailbox":0,"principals":[{"principal":"merchant:m1","acked":40,"unacked":2},
      {"principal":"service:m1","acked":42,"unacked":0}],"id":"m1","kind":"merchant"})");
  EXPECT_EQ(render_actor(answer),
            "kind: merchant\n"
            "id: m1\n"
            "stream: orders:m1\n"
            "owner: n1\n"
            "epoch: 3\n"
            "partition: 17\n"
            "seq: 42\n"
            "mailbox: 0\n"
            "\n"
            "principals:\n"
            "PRINCIPAL    ACKED  UNACKED\n"
            "merchant:m1  40     2\n"
            "service:m1   42     0\n");
}

TEST(SbctlHumanView, InspectPoolHasAgentAndQueueTables) {
  auto answer = json::parse(R"({"queue":[{"conv":"c9","customer":"u9","since_ms":1700000000000}],
      "agents":[{"id":"a1","online":true,"active":2,"weight":2,"max_concurrent":5},
                {"id":"a2","online":false,"active":0,"weight":1,"max_concurrent":5}],
      "principals":[],"seq":5,"owner":"n3","stream":"pool:m1"})");
  EXPECT_EQ(render_actor(answer),
            "stream: pool:m1\n"
            "owner: n3\n"
            "seq: 5\n"
            "\n"
            "principals:\n"
            "PRINCIPAL  ACKED  UNACKED\n"
            "\n"
            "agents:\n"
            "AGENT  ONLINE  ACTIVE  WEIGHT  MAX\n"
            "a1     true    2       2       5\n"
            "a2     false   0       1       5\n"
            "\n"
            "queue:\n"
            "CONV  CUSTOMER  SINCE_MS\n"
            "c9    u9        1700000000000\n");
}

TEST(SbctlHumanView, InspectSubscribers) {
  auto answer = json::parse(R"({"stream":"inbox:a1","seq":3,"in_flight":1,"waiting_polls":0,
      "subscribers":[{"principal":"a1","delivered":3,"acked":2,"unacked":1}]})");
  EXPECT_EQ(render_actor(answer),
            "stream: inbox:a1\n"
            "seq: 3\n"
            "in_flight: 1\n"
            "waiting_polls: 0\n"
            "\n"
            "subscribers:\n"
            "PRINCIPAL  DELIVERED  ACKED  UNACKED\n"
            "a1         3          2      1\n");
}

TEST(SbctlHumanView, InspectShowsUnknownFieldsAsKeyValueAndCompactJson) {
  auto answer = json::parse(R"({"stream":"conv:c1","owner":"n1","status":"in_progress",
      "agent":"a1","customer":"u1","replica":{"node":"n2","lag":0},"tags":["vip",1],
      "principals":[{"principal":"a1","acked":3,"unacked":0,"last_ack_ms":12}],
      "note":"two\nlines","missing":null})");
  EXPECT_EQ(render_actor(answer),
            "stream: conv:c1\n"
            "owner: n1\n"
            "status: in_progress\n"
            "agent: a1\n"
            "customer: u1\n"
            "replica: {\"node\":\"n2\",\"lag\":0}\n"
            "tags: [\"vip\",1]\n"
            "note: two?lines\n"
            "missing: -\n"
            "\n"
            "principals:\n"
            "PRINCIPAL  ACKED  UNACKED  LAST_ACK_MS\n"
            "a1         3      0        12\n");
}

TEST(SbctlHumanView, ConnectionFields) {
  auto answer = json::parse(R"({"principal":"agent:a1","node":"n2","streams":["inbox:a1"],
      "mailbox":1})");
  EXPECT_EQ(render_actor(answer),
            "mailbox: 1\n"
            "principal: agent:a1\n"
            "node: n2\n"
            "streams: [\"inbox:a1\"]\n");
}

TEST(SbctlHumanView, AListThatIsNotOfObjectsIsShownAsAField) {
  auto answer = json::parse(R"({"stream":"s","principals":"none"})");
  EXPECT_EQ(render_actor(answer), "stream: s\nprincipals: none\n");
}

TEST(SbctlHumanView, Drain) {
  EXPECT_EQ(render_drain(json::parse(R"({"node":"n2","state":"draining"})"), "n2"),
            "draining n2\n");
  EXPECT_EQ(render_drain(json::parse("{}"), "n3"), "draining n3\n");
}

TEST(SbctlHumanView, ControlCharactersNeverReachTheTerminal) {
  EXPECT_EQ(printable("a\x1b[2Jb\r\n\x7f"), "a?[2Jb???");
  auto answer = json::parse(R"({"actors":[{"kind":"inbox","id":"x\u001b[31m","node":"n1"}]})");
  EXPECT_EQ(render_actors(answer),
            "KIND   ID      NODE  MAILBOX\n"
            "inbox  x?[31m  n1    -\n");
}

}  // namespace
}  // namespace sb::sbctl
