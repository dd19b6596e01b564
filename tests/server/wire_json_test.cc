// The protocol's messages as JSON (server/wire_json.h): the mapping docs/HTTP.md states, checked
// on frames built by the codec and by hand.
#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include "replay/checkpoint.h"
#include "server/frame.h"
#include "server/wire_json.h"
#include "tests/support/fixture.h"

namespace refah::test {

namespace {

using nlohmann::json;

const wire::Message& message_of(const proto::Frame& f) {
  return *flatbuffers::GetRoot<wire::Message>(f.data() + server::kFrameHeaderBytes);
}

json json_of(const proto::Frame& f) { return json::parse(server::body_json(message_of(f))); }

}  // namespace

TEST_CASE("JSON of a message: strings escaped, enums by name, bytes as hex, every field present", "[server][json]") {
  const json error = json_of(proto::encode_error(5, Reason::kNotPermitted, "say \"no\"\n\\ and \x01"));
  CHECK(error == json{{"reason", 16}, {"message", "say \"no\"\n\\ and \x01"}});
  CHECK(server::body_name(message_of(proto::encode_error(5, Reason::kNotPermitted, "x"))) == "Error");

  const json who = json_of(proto::encode_authenticated(1, Actor{42, Role::kCouncil, 0, 0, 3}, 0));
  CHECK(who == json{{"client_id", 42}, {"role", "Council"}, {"venue", 0}, {"head_seq", 0},
                    {"neighbourhood", 0}, {"county", 3}});  // defaults included, in schema order
  CHECK(server::body_json(message_of(proto::encode_authenticated(1, Actor{42, Role::kCouncil, 0, 0, 3}, 0)))
            .rfind("{\"client_id\":42,\"role\":\"Council\",\"venue\":0,", 0) == 0);

  replay::Checkpoint c;
  c.head_seq = 18'446'744'073'709'551'615ULL;  // a ulong past 2^63 stays exact
  c.head_hash.fill(0xab);
  c.signature.fill(0x01);
  const json cp = json_of(proto::encode_checkpoint(9, c));
  CHECK(server::body_json(message_of(proto::encode_checkpoint(9, c))).find("\"head_seq\":18446744073709551615") !=
        std::string::npos);
  std::string ab;
  for (int i = 0; i < 32; ++i) ab += "ab";
  CHECK(cp.at("head_hash") == ab);
  CHECK(cp.at("signature").get<std::string>().size() == 128);
}

TEST_CASE("JSON of a message: unions as type and value, structs as objects, fixed byte arrays as hex", "[server][json]") {
  Bytes16 id{};
  for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::uint8_t>(i);
  const proto::Frame submit = proto::encode_submit(3, std::vector<Command>{Command{Actor{}, id, RecordVisit{100, 10, 7, 50'000, kT0}}});
  const json j = json_of(submit);
  REQUIRE(j.at("commands").size() == 1);
  const json& cmd = j.at("commands")[0];
  CHECK(cmd.at("client_event_id") == json{{"b", "000102030405060708090a0b0c0d0e0f"}});
  CHECK(cmd.at("body").at("type") == "RecordVisit");
  CHECK(cmd.at("body").at("value") == json{{"card", 100}, {"venue", 10}, {"venue_txn_id", 7},
                                           {"list_price_rials", 50'000}, {"occurred_at_us", kT0}});
}

TEST_CASE("JSON of a message: bit flags as names, an unknown enum value as its number, an absent string as null",
          "[server][json]") {
  flatbuffers::FlatBufferBuilder fbb;
  wire::NeighbourhoodRowBuilder row(fbb);
  row.add_id(5);
  row.add_need_flags(wire::NeedFlag::LowCoverage | wire::NeedFlag::NoCapacity);
  const auto r = row.Finish();
  const auto rows = fbb.CreateVector(std::vector<flatbuffers::Offset<wire::NeighbourhoodRow>>{r});
  wire::CoverageBuilder cov(fbb);
  cov.add_neighbourhoods(rows);
  cov.add_provincial_median_coverage(0.25);
  const auto coverage = cov.Finish();
  const json j = json_of(proto::finish_frame(fbb, 1, wire::Body::Coverage, coverage.Union()));
  const json& n = j.at("neighbourhoods")[0];
  CHECK(n.at("need_flags") == json::array({"LowCoverage", "NoCapacity"}));
  CHECK(n.at("name").is_null());
  CHECK(j.at("counties") == json::array());
  CHECK(j.at("provincial_median_coverage") == 0.25);

  flatbuffers::FlatBufferBuilder fbb2;
  wire::VenueListingBuilder v(fbb2);
  v.add_id(1);
  v.add_category(static_cast<wire::VenueCategory>(200));
  const auto listing = v.Finish();
  const auto listings = fbb2.CreateVector(std::vector<flatbuffers::Offset<wire::VenueListing>>{listing});
  const auto list = wire::CreateVenueList(fbb2, 4, listings, 0);
  const json l = json_of(proto::finish_frame(fbb2, 1, wire::Body::VenueList, list.Union()));
  CHECK(l.at("venues")[0].at("category") == 200);
  CHECK(l.at("venues")[0].at("status") == "Active");
}

}  // namespace refah::test
