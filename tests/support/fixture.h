// Test fixtures: a temporary data directory, a ManualClock, and builders for commands, so rule and
// writer tests read as the sentence they test.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "ledger/clock.h"
#include "ledger/command.h"
#include "ledger/ledger.h"
#include "projections/projections.h"

namespace refah::test {

// What a crash leaves of a running ledger's directory (every synced write, nothing of a close).
// The ledger's threads may rename or delete a file while it is copied (a filter's .tmp renamed, a
// spilled table moved into the database): such a copy is taken again, until one saw no file vanish.
inline void crash_copy(const std::string& from, const std::string& to) {
  for (int attempt = 0;; ++attempt) {
    std::filesystem::remove_all(to);
    std::error_code ec;
    std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, ec);
    if (!ec) return;
    if (attempt >= 50) throw std::filesystem::filesystem_error("copying a running ledger", from, to, ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// 2026-03-21 00:00 UTC (Nowruz 1405): a fixed start for every test clock.
inline constexpr TimeUs kT0 = 1'774'051'200'000'000LL;
inline constexpr TimeUs kSecondUs = 1'000'000;
inline constexpr TimeUs kMinuteUs = 60 * kSecondUs;
inline constexpr TimeUs kHourUs = 60 * kMinuteUs;
inline constexpr TimeUs kDayUs = 24 * kHourUs;

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("refah-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return (path_ / "ledger").string(); }

 private:
  std::filesystem::path path_;
};

inline Actor admin() { return Actor{1, Role::kAdmin, 0}; }
inline Actor auditor() { return Actor{2, Role::kAuditor, 0}; }
inline Actor venue_actor(VenueId v) { return Actor{1000 + v, Role::kVenue, v}; }

// Distinct, non-zero client event ids from a counter.
class Ids {
 public:
  Bytes16 next() { return make(++n_); }
  static Bytes16 make(std::uint64_t n) {
    Bytes16 b;
    for (int i = 0; i < 8; ++i) b.bytes[i] = static_cast<std::uint8_t>(n >> (8 * i));
    b.bytes[15] = 0xA5;
    return b;
  }

 private:
  std::uint64_t n_ = 0;
};

inline Bytes16 holder(std::uint64_t n) {
  Bytes16 b = Ids::make(n);
  b.bytes[14] = 0x77;
  return b;
}

// The standard programme rules of the tests: tier shares 20/35/50/65/80 %, caps 300k..1M rials,
// 3 visits a day, 2 at one venue, a 2-hour cancellation window, visits up to 1 day old.
inline RuleSet standard_rules(std::uint32_t version, TimeUs effective_from_us) {
  RuleSet r;
  r.version = version;
  r.effective_from_us = effective_from_us;
  r.subsidy_share_bp = {2000, 3500, 5000, 6500, 8000};
  r.visit_cap_rials = {500'000, 600'000, 300'000, 300'000, 400'000, 1'000'000};
  r.visits_per_card_per_day = 3;
  r.visits_per_card_per_venue_per_day = 2;
  r.cancel_window_us = 2 * kHourUs;
  r.visit_max_age_us = kDayUs;
  r.utc_offset_minutes = 210;
  return r;
}

// A ledger in a temp dir with a manual clock at kT0, and helpers that run one command each.
class LedgerFixture {
 public:
  LedgerFixture() : clock_(kT0) { reopen(); }
  ~LedgerFixture() { ledger_.reset(); }

  // Reopens the ledger with fresh projections of its own, teed with extra.sink when a test passes one.
  void reopen(Ledger::Options extra = {}) {
    ledger_.reset();
    projections_ = std::make_unique<proj::Projections>();
    tee_.own = projections_.get();
    tee_.theirs = extra.sink;
    extra.sink = &tee_;
    extra.data_dir = dir_.path();
    auto opened = Ledger::open(extra, clock_);
    if (!opened.is_ok()) throw std::runtime_error(opened.status().to_string());
    ledger_ = std::move(opened).value();
  }
  proj::Projections& projections() { return *projections_; }
  Ledger& ledger() { return *ledger_; }
  ManualClock& clock() { return clock_; }
  const TempDir& dir() const { return dir_; }
  Ids& ids() { return ids_; }

  Outcome run(Actor actor, CommandBody body) {
    return ledger_->execute(Command{actor, ids_.next(), std::move(body)});
  }
  Outcome run_with_id(Actor actor, Bytes16 id, CommandBody body) {
    return ledger_->execute(Command{actor, id, std::move(body)});
  }

  // Neighbourhood `id` in Ahvaz (county 3) with the given tier, active since kT0 - 1 day.
  Outcome define_neighbourhood(NeighbourhoodId id, std::uint8_t tier = 5,
                               TimeUs active_from_us = kT0 - kDayUs) {
    return run(admin(), DefineNeighbourhood{id, 3, "کوی علوی " + std::to_string(id), 20'000, tier,
                                            active_from_us});
  }
  Outcome register_venue(VenueId id, NeighbourhoodId n, VenueCategory c = VenueCategory::kSport) {
    return run(admin(), RegisterVenue{id, "venue " + std::to_string(id), n, c, 500});
  }
  Outcome publish_rules(std::uint32_t version, TimeUs effective_from_us) {
    return run(admin(), PublishRuleSet{standard_rules(version, effective_from_us)});
  }
  Outcome issue(CardId card, NeighbourhoodId n, Rials credit, std::uint64_t holder_n = 0) {
    return run(admin(), IssueCard{card, holder(holder_n ? holder_n : card), n, CardCategory::kYouth,
                                  credit, clock_.now_us() + 365 * kDayUs});
  }
  Outcome visit(CardId card, VenueId v, Rials price, std::uint64_t txn = 1) {
    return run(venue_actor(v), RecordVisit{card, v, txn, price, clock_.now_us()});
  }

  // Neighbourhood 1 (tier 5), sport venue 10 and pool venue 11 there, rules v1 in force, card 100
  // issued with 2,000,000 rials.
  void standard_programme() {
    define_neighbourhood(1, 5);
    register_venue(10, 1, VenueCategory::kSport);
    register_venue(11, 1, VenueCategory::kPool);
    publish_rules(1, clock_.now_us());
    issue(100, 1, 2'000'000);
  }

  // A card as the rules see it (State) and as the balances projection reports it.
  struct CardView : proj::CardBalance {
    TimeUs valid_until_us = 0;
    Bytes16 holder_ref;
    int visits_today = 0;
  };
  CardView card(CardId id) {
    CardView out;
    projections_->read([&](const proj::View& v) {
      if (const proj::CardBalance* b = v.balances.card(id)) static_cast<proj::CardBalance&>(out) = *b;
    });
    ledger_->read([&](const State& s) {
      if (const CardState* c = s.card(id)) {
        out.valid_until_us = c->valid_until_us;
        out.holder_ref = c->holder_ref;
        out.visits_today = c->day == local_day(s.head_time_us(), 210) ? c->visits_today : 0;
      }
    });
    return out;
  }

 private:
  struct Tee final : CommitSink {
    CommitSink* own = nullptr;
    CommitSink* theirs = nullptr;
    void begin_batch() override { own->begin_batch(); if (theirs) theirs->begin_batch(); }
    void apply(const fb::Event& e) override { own->apply(e); if (theirs) theirs->apply(e); }
    void end_batch(Seq s, TimeUs t) override { own->end_batch(s, t); if (theirs) theirs->end_batch(s, t); }
    // Snapshots carry the fixture's projections when the test brings no sink of its own.
    void save(std::string& out) const override {
      if (theirs == nullptr) own->save(out);
    }
    bool load(std::span<const std::uint8_t> bytes) override {
      return theirs == nullptr && own->load(bytes);
    }
    std::function<void(std::string&)> snapshot_copy() const override {
      return theirs == nullptr ? own->snapshot_copy() : nullptr;
    }
  };
  TempDir dir_;
  ManualClock clock_;
  Ids ids_;
  std::unique_ptr<proj::Projections> projections_;
  Tee tee_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace refah::test
