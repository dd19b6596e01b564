// Names of the persisted enums, as shown by tools and documented in docs/PROTOCOL.md.
#include "ledger/types.h"

namespace refah {

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::kOk: return "OK";
    case Reason::kUnknownCard: return "UNKNOWN_CARD";
    case Reason::kCardNotActive: return "CARD_NOT_ACTIVE";
    case Reason::kCardExpired: return "CARD_EXPIRED";
    case Reason::kInsufficientBalance: return "INSUFFICIENT_BALANCE";
    case Reason::kVenueNotActive: return "VENUE_NOT_ACTIVE";
    case Reason::kNotYourVenue: return "NOT_YOUR_VENUE";
    case Reason::kDailyLimit: return "DAILY_LIMIT";
    case Reason::kVenueDailyLimit: return "VENUE_DAILY_LIMIT";
    case Reason::kCancelWindowClosed: return "CANCEL_WINDOW_CLOSED";
    case Reason::kAlreadyCancelled: return "ALREADY_CANCELLED";
    case Reason::kDuplicateHolder: return "DUPLICATE_HOLDER";
    case Reason::kAreaNotActive: return "AREA_NOT_ACTIVE";
    case Reason::kStaleVisit: return "STALE_VISIT";
    case Reason::kIdConflict: return "ID_CONFLICT";
    case Reason::kInvalidArgument: return "INVALID_ARGUMENT";
    case Reason::kNotPermitted: return "NOT_PERMITTED";
    case Reason::kUnknownVenue: return "UNKNOWN_VENUE";
    case Reason::kUnknownNeighbourhood: return "UNKNOWN_NEIGHBOURHOOD";
    case Reason::kUnknownVisit: return "UNKNOWN_VISIT";
    case Reason::kNoRulesInForce: return "NO_RULES_IN_FORCE";
    case Reason::kAlreadyExists: return "ALREADY_EXISTS";
    case Reason::kRuleSetVersion: return "RULE_SET_VERSION";
    case Reason::kOverloaded: return "OVERLOADED";
    case Reason::kStorageFailed: return "STORAGE_FAILED";
    case Reason::kShuttingDown: return "SHUTTING_DOWN";
    case Reason::kMalformed: return "MALFORMED";
    case Reason::kUnknownRequest: return "UNKNOWN_REQUEST";
    case Reason::kFrameTooLarge: return "FRAME_TOO_LARGE";
    case Reason::kTooManyInFlight: return "TOO_MANY_IN_FLIGHT";
    case Reason::kAuthFailed: return "AUTH_FAILED";
    case Reason::kNotAuthenticated: return "NOT_AUTHENTICATED";
    case Reason::kTimeout: return "TIMEOUT";
    case Reason::kBatchTooLarge: return "BATCH_TOO_LARGE";
    case Reason::kLimitReached: return "LIMIT_REACHED";
    case Reason::kBudgetExhausted: return "BUDGET_EXHAUSTED";
    case Reason::kAlreadySettled: return "ALREADY_SETTLED";
    case Reason::kVenueActive: return "VENUE_ACTIVE";
    case Reason::kReplicaUnavailable: return "REPLICA_UNAVAILABLE";
    case Reason::kNotPrimary: return "NOT_PRIMARY";
  }
  return "UNKNOWN_REASON";
}

std::string_view venue_category_name(VenueCategory c) {
  switch (c) {
    case VenueCategory::kSport: return "sport";
    case VenueCategory::kPool: return "pool";
    case VenueCategory::kCulture: return "culture";
    case VenueCategory::kLibrary: return "library";
    case VenueCategory::kCinema: return "cinema";
    case VenueCategory::kChildren: return "children";
  }
  return "unknown";
}

std::string_view card_category_name(CardCategory c) {
  switch (c) {
    case CardCategory::kYouth: return "youth";
    case CardCategory::kFamily: return "family";
    case CardCategory::kChild: return "child";
  }
  return "unknown";
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kVenue: return "venue";
    case Role::kAdmin: return "admin";
    case Role::kAuditor: return "auditor";
    case Role::kLedger: return "ledger";
    case Role::kCouncil: return "council";
  }
  return "unknown";
}

std::string_view sex_name(Sex s) {
  switch (s) {
    case Sex::kNotStated: return "not-stated";
    case Sex::kFemale: return "female";
    case Sex::kMale: return "male";
  }
  return "?";
}

std::string_view age_band_name(AgeBand b) {
  switch (b) {
    case AgeBand::kNotStated: return "not-stated";
    case AgeBand::k0to11: return "0-11";
    case AgeBand::k12to17: return "12-17";
    case AgeBand::k18to30: return "18-30";
    case AgeBand::k31to59: return "31-59";
    case AgeBand::k60plus: return "60+";
  }
  return "?";
}

}  // namespace refah
