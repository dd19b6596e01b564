// names.h: the tables of the enums' names, and counties' names from ledger/province.h.
#include "tools/refahctl/names.h"

#include "ledger/province.h"

namespace refah::ctl {

const EnumNames<VenueCategory>& venue_category_names() {
  static const EnumNames<VenueCategory> names = {
      {"sport", VenueCategory::kSport},     {"pool", VenueCategory::kPool},
      {"culture", VenueCategory::kCulture}, {"library", VenueCategory::kLibrary},
      {"cinema", VenueCategory::kCinema},   {"children", VenueCategory::kChildren}};
  return names;
}
const EnumNames<CardCategory>& card_category_names() {
  static const EnumNames<CardCategory> names = {
      {"youth", CardCategory::kYouth}, {"family", CardCategory::kFamily}, {"child", CardCategory::kChild}};
  return names;
}
const EnumNames<Sex>& sex_names() {
  static const EnumNames<Sex> names = [] {
    EnumNames<Sex> out;
    for (Sex s : {Sex::kFemale, Sex::kMale, Sex::kNotStated}) out.emplace_back(std::string(sex_name(s)), s);
    return out;
  }();
  return names;
}
const EnumNames<AgeBand>& age_band_names() {
  static const EnumNames<AgeBand> names = [] {
    EnumNames<AgeBand> out;
    for (AgeBand b : {AgeBand::k0to11, AgeBand::k12to17, AgeBand::k18to30, AgeBand::k31to59, AgeBand::k60plus,
                      AgeBand::kNotStated})
      out.emplace_back(std::string(age_band_name(b)), b);
    return out;
  }();
  return names;
}
const EnumNames<FundingSource>& funding_source_names() {
  static const EnumNames<FundingSource> names = {{"province", FundingSource::kProvince},
                                                 {"municipality", FundingSource::kMunicipality},
                                                 {"federation", FundingSource::kFederation},
                                                 {"donor", FundingSource::kDonor},
                                                 {"other", FundingSource::kOther}};
  return names;
}
const EnumNames<VisitCancelReason>& visit_cancel_reason_names() {
  static const EnumNames<VisitCancelReason> names = {{"venue-error", VisitCancelReason::kVenueError},
                                                     {"holder-request", VisitCancelReason::kHolderRequest},
                                                     {"duplicate", VisitCancelReason::kDuplicate},
                                                     {"fraud", VisitCancelReason::kFraud},
                                                     {"other", VisitCancelReason::kOther}};
  return names;
}
const EnumNames<CardCancelReason>& card_cancel_reason_names() {
  static const EnumNames<CardCancelReason> names = {{"lost", CardCancelReason::kLost},
                                                    {"fraud", CardCancelReason::kFraud},
                                                    {"moved", CardCancelReason::kMoved},
                                                    {"expired", CardCancelReason::kExpired},
                                                    {"holder-request", CardCancelReason::kHolderRequest}};
  return names;
}
const EnumNames<Calendar>& calendar_names() {
  static const EnumNames<Calendar> names = {{"gregorian", Calendar::kGregorian},
                                            {"jalali", Calendar::kJalali}};
  return names;
}

const EnumNames<VenueStatus>& venue_status_names() {
  static const EnumNames<VenueStatus> names = {{"active", VenueStatus::kActive},
                                               {"suspended", VenueStatus::kSuspended}};
  return names;
}
const EnumNames<NeedGroup>& need_group_names() {
  static const EnumNames<NeedGroup> names = {{"social", NeedGroup::kSocial},
                                             {"cultural", NeedGroup::kCultural},
                                             {"economic", NeedGroup::kEconomic},
                                             {"infrastructure", NeedGroup::kInfrastructure}};
  return names;
}

std::string need_score_text(std::uint16_t need_bp) { return percent(need_bp / 10'000.0, 1); }

std::string need_weight_text(std::uint16_t weight_bp) {
  return percent(weight_bp / 10'000.0, weight_bp % 100 == 0 ? 0 : 2);
}

std::string county_name(CountyCode code) {
  const County* c = find_county(code);
  if (c != nullptr) return std::string(c->name_en);
  return code == 0 ? "-" : "county " + std::to_string(code);
}

std::string county_or_province(CountyCode code) { return code == 0 ? "province" : county_name(code); }

}  // namespace refah::ctl
