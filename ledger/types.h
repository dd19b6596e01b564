// Value types shared by every folder: ids, money, time, roles, categories and rejection reasons.
// Every enum here is persisted in events (ledger/schema/events.fbs mirrors it): do not change values.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace refah {

using Rials = std::int64_t;      // money: always integer rials, never floating point
using TimeUs = std::int64_t;     // microseconds since the Unix epoch, UTC
using Seq = std::uint64_t;       // global event sequence number, gap-free from 1
using CardId = std::uint64_t;
using VenueId = std::uint32_t;
using NeighbourhoodId = std::uint32_t;
using ClientId = std::uint32_t;
using CountyCode = std::uint16_t;  // index into ledger/province.h, from 1

struct Bytes16 {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const Bytes16&, const Bytes16&) = default;
  friend auto operator<=>(const Bytes16&, const Bytes16&) = default;
  bool is_zero() const {
    for (auto b : bytes) if (b != 0) return false;
    return true;
  }
};
using Hash32 = std::array<std::uint8_t, 32>;

// The programme's local time until a rule set names its zone: Asia/Tehran, UTC+03:30 (no daylight
// saving since 2022). The first rule set fixes the zone for good (ledger/rules.cc).
inline constexpr std::int16_t kProgrammeUtcOffsetMinutes = 210;

// kLedger: the ledger's own events (a lapse of credit), never a client. kCouncil: a local council
// that reads the aggregates of its area (one neighbourhood or one county) and writes nothing.
enum class Role : std::uint8_t { kVenue = 1, kAdmin = 2, kAuditor = 3, kLedger = 4, kCouncil = 5 };
inline constexpr std::size_t kRoleSlots = 6;  // arrays indexed by a Role's value

enum class VenueCategory : std::uint8_t {
  kSport = 0, kPool = 1, kCulture = 2, kLibrary = 3, kCinema = 4, kChildren = 5,
};
inline constexpr int kVenueCategoryCount = 6;

enum class CardCategory : std::uint8_t { kYouth = 0, kFamily = 1, kChild = 2 };
inline constexpr int kCardCategoryCount = 3;

// The coarse, privacy-safe groups a card records at issuance: never a birth date or a name. Cards
// issued before these were recorded are "not stated" in both.
enum class Sex : std::uint8_t { kNotStated = 0, kFemale = 1, kMale = 2 };
inline constexpr int kSexCount = 3;
enum class AgeBand : std::uint8_t {
  kNotStated = 0, k0to11 = 1, k12to17 = 2, k18to30 = 3, k31to59 = 4, k60plus = 5,
};
inline constexpr int kAgeBandCount = 6;

enum class FundingSource : std::uint8_t {
  kProvince = 0, kMunicipality = 1, kFederation = 2, kDonor = 3, kOther = 4,
};
inline constexpr int kFundingSourceCount = 5;

enum class VisitCancelReason : std::uint8_t {
  kVenueError = 0, kHolderRequest = 1, kDuplicate = 2, kFraud = 3, kOther = 4,
};
inline constexpr int kVisitCancelReasonCount = 5;

enum class CardCancelReason : std::uint8_t {
  kLost = 0, kFraud = 1, kMoved = 2, kExpired = 3, kHolderRequest = 4,
};
inline constexpr int kCardCancelReasonCount = 5;

enum class CardStatus : std::uint8_t { kActive = 0, kCancelled = 1, kReplaced = 2 };
enum class VenueStatus : std::uint8_t { kActive = 0, kSuspended = 1 };

inline constexpr int kTierCount = 5;  // deprivation tier 1 (least) .. 5 (most deprived)

// Why a command was refused (or kOk). Sent on the wire: do not change values, append only.
enum class Reason : std::uint16_t {
  kOk = 0,
  kUnknownCard = 1,
  kCardNotActive = 2,
  kCardExpired = 3,
  kInsufficientBalance = 4,
  kVenueNotActive = 5,
  kNotYourVenue = 6,
  kDailyLimit = 7,
  kVenueDailyLimit = 8,
  kCancelWindowClosed = 9,
  kAlreadyCancelled = 10,
  kDuplicateHolder = 11,
  kAreaNotActive = 12,
  kStaleVisit = 13,
  kIdConflict = 14,
  kInvalidArgument = 15,
  kNotPermitted = 16,
  kUnknownVenue = 17,
  kUnknownNeighbourhood = 18,
  kUnknownVisit = 19,
  kNoRulesInForce = 20,
  kAlreadyExists = 21,
  kRuleSetVersion = 22,
  kOverloaded = 23,
  kStorageFailed = 24,
  kShuttingDown = 25,
  // Wire-level refusals (server/): a request refused as a whole, before the ledger sees it.
  kMalformed = 26,          // the frame is not a verified Message FlatBuffer, or a field is missing
  kUnknownRequest = 27,     // a body kind this server does not know, or one only a server sends
  kFrameTooLarge = 28,      // the length prefix is over the frame limit (the connection is closed)
  kTooManyInFlight = 29,    // the connection already has its limit of requests in flight
  kAuthFailed = 30,         // unknown client or wrong MAC (the connection is closed)
  kNotAuthenticated = 31,   // a request before the handshake finished (the connection is closed)
  kTimeout = 32,            // a handshake, frame or idle deadline passed (the connection is closed)
  kBatchTooLarge = 33,      // more commands in one Submit than the batch limit
  // The ledger again: a table the programme may not grow further (ledger/limits.h).
  kLimitReached = 34,
  // Card credit past what is left of its budget envelope, or with none for a budgeted source.
  kBudgetExhausted = 35,
  // A settlement through a day on or before the venue's last settled day, or (all venues) with no
  // venue left to settle through it.
  kAlreadySettled = 36,
  // A reinstatement of a venue that is not suspended.
  kVenueActive = 37,
  // Replication (docs/REPLICATION.md): a Submit refused as a whole, nothing written, while the
  // replicated log cannot be reached (the message says why); resend it later with the same ids.
  kReplicaUnavailable = 38,
  // Replication: a Submit sent to a replica (or a standby not yet promoted), nothing written; the
  // message names the primary to send it to.
  kNotPrimary = 39,
};
inline constexpr std::uint16_t kReasonMax = 39;

// Upper-case name used on the wire docs, in logs and by the tools, e.g. "INSUFFICIENT_BALANCE".
std::string_view reason_name(Reason r);
std::string_view venue_category_name(VenueCategory c);
std::string_view card_category_name(CardCategory c);
std::string_view role_name(Role r);
std::string_view sex_name(Sex s);           // "not-stated", "female", "male"
std::string_view age_band_name(AgeBand b);  // "not-stated", "0-11", "12-17", "18-30", "31-59", "60+"

}  // namespace refah
