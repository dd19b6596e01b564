// The listings (admin, auditor, a council its area): venues and neighbourhoods, every page or one
// (--after, --limit), as one table or as JSON lines (one a page).
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "tools/refahctl/commands.h"
#include "tools/refahctl/listings.h"
#include "tools/refahctl/names.h"
#include "tools/refahctl/query.h"

namespace refah::ctl {
namespace {

Json venue_json(const wire::VenueListing& v) {
  return Json{{"id", v.id()},
              {"name", v.name() == nullptr ? "" : v.name()->str()},
              {"neighbourhood", v.neighbourhood()},
              {"county", v.county()},
              {"county_name", county_name(v.county())},
              {"category", name_of_wire(venue_category_names(), static_cast<std::uint8_t>(v.category()))},
              {"daily_capacity", v.daily_capacity()},
              {"status", name_of_wire(venue_status_names(), static_cast<std::uint8_t>(v.status()))}};
}

std::vector<std::string> venue_cells(const wire::VenueListing& v) {
  return {std::to_string(v.id()),
          v.name() == nullptr ? "" : v.name()->str(),
          std::to_string(v.neighbourhood()),
          county_name(v.county()),
          name_of_wire(venue_category_names(), static_cast<std::uint8_t>(v.category())),
          count(v.daily_capacity()),
          name_of_wire(venue_status_names(), static_cast<std::uint8_t>(v.status()))};
}

std::vector<std::string> neighbourhood_cells(const Global& g, const wire::NeighbourhoodListing& n) {
  return {std::to_string(n.id()),
          n.name() == nullptr ? "" : n.name()->str(),
          county_name(n.county()),
          std::to_string(n.tier()),
          count(n.target_population()),
          shown_day(g, n.active_from_us()),
          count(n.profiles()),
          need_text(n.profile() != nullptr, n.need_bp()),
          count(n.venues()),
          count(n.daily_capacity())};
}

// The pages of one listing: each printed as it comes (JSON) or gathered into one table.
class Listing {
 public:
  Listing(const Global& g, const char* what, Table table) : g_(g), what_(what), table_(std::move(table)) {
    table_.right_align(0);
  }
  // One page: its JSON line, or its rows into the table.
  void add(Seq seq, Json rows, std::uint32_t next_after, const std::vector<std::vector<std::string>>& cells) {
    answered_.saw(seq);
    rows_ += cells.size();
    if (g_.json) return emit(Json{{"seq", seq}, {what_, std::move(rows)}, {"next_after", next_after}});
    for (const auto& row : cells) table_.add(row);
  }
  // The table, and where the next page starts when one was asked for and more are left.
  void finish(std::uint64_t more, const std::string& note) const {
    if (g_.json) return;
    std::cout << what_ << " as of seq " << answered_.first() << note << '\n' << table_.render();
    if (rows_ == 0) std::cout << "none\n";
    answered_.note(std::cout);
    if (more != 0) std::cout << "more: --after " << more << '\n';
  }

 private:
  const Global& g_;
  const char* what_;
  Table table_;
  std::size_t rows_ = 0;
  AnsweredAt answered_;
};

// Every page from --after, or one of --limit, of a listing whose request `make` builds.
int list(const Global& g, const ListingArgs& a, Listing& listing, wire::Body expected,
         const std::function<proto::Frame(std::uint64_t id, std::uint32_t after, const proto::AsOf&)>& make,
         const std::function<std::uint64_t(const wire::Message&)>& take, const std::string& note) {
  const auto as_of = as_of_flags(g, a);
  if (!as_of) return kExitUsage;
  std::uint64_t more = 0;
  const int exit = page_through(
      g, Paging{a.after, a.limit != 0, "next_after"},
      [&](std::uint64_t id, std::uint64_t after) { return make(id, static_cast<std::uint32_t>(after), *as_of); },
      expected, take, more);
  if (exit == kExitOk) listing.finish(more, note);
  return exit;
}

}  // namespace

int run_venues(const Global& g, const ListingArgs& a) {
  Table table({"id", "name", "neighbourhood", "county", "category", "daily capacity", "status"});
  table.right_align(2);
  table.right_align(5);
  Listing listing(g, "venues", std::move(table));
  return list(
      g, a, listing, wire::Body::VenueList,
      [&](std::uint64_t id, std::uint32_t after, const proto::AsOf& as_of) {
        return proto::encode_list_venues(id, after, a.limit, as_of);
      },
      [&](const wire::Message& m) -> std::uint64_t {
        const wire::VenueList& page = *m.body_as_VenueList();
        Json rows = Json::array();
        std::vector<std::vector<std::string>> cells;
        if (page.venues() != nullptr)
          for (const wire::VenueListing* v : *page.venues()) {
            rows.push_back(venue_json(*v));
            cells.push_back(venue_cells(*v));
          }
        listing.add(page.seq(), std::move(rows), page.next_after(), cells);
        return page.next_after();
      },
      "");
}

int run_neighbourhoods(const Global& g, const ListingArgs& a) {
  Listing listing(g, "neighbourhoods",
                  right_aligned({"id", "name", "county", "tier", kPopulationHeader, "active from", "profiles",
                                 "need", "venues", "daily capacity"},
                                3));
  return list(
      g, a, listing, wire::Body::NeighbourhoodList,
      [&](std::uint64_t id, std::uint32_t after, const proto::AsOf& as_of) {
        return proto::encode_list_neighbourhoods(id, after, a.limit, as_of);
      },
      [&](const wire::Message& m) -> std::uint64_t {
        const wire::NeighbourhoodList& page = *m.body_as_NeighbourhoodList();
        Json rows = Json::array();
        std::vector<std::vector<std::string>> cells;
        if (page.neighbourhoods() != nullptr)
          for (const wire::NeighbourhoodListing* n : *page.neighbourhoods()) {
            rows.push_back(neighbourhood_listing_json(*n));
            cells.push_back(neighbourhood_cells(g, *n));
          }
        listing.add(page.seq(), std::move(rows), page.next_after(), cells);
        return page.next_after();
      },
      "; need: the newest profile's score under the weights in force, - if none");
}

}  // namespace refah::ctl
