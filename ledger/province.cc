// County table of Khuzestan (2016 census figures from share/khuzestan-counties-2016.csv).
#include "ledger/province.h"

#include <array>

namespace refah {
namespace {
// Order is the persisted code order: do not change, only append.
constexpr std::array<County, 27> kCounties{{
    {1, "Abadan", "آبادان", 298090, false},
    {2, "Aghajari", "آغاجاری", 17654, false},
    {3, "Ahvaz", "اهواز", 1302591, true},
    {4, "Andika", "اندیکا", 47629, false},
    {5, "Andimeshk", "اندیمشک", 171412, false},
    {6, "Bagh-e Malek", "باغملک", 105384, false},
    {7, "Bandar-e Mahshahr", "بندر ماهشهر", 296271, false},
    {8, "Bavi", "باوی", 96484, true},
    {9, "Behbahan", "بهبهان", 180593, false},
    {10, "Dasht-e Azadegan", "دشت آزادگان", 107989, false},
    {11, "Dezful", "دزفول", 443971, false},
    {12, "Gotvand", "گتوند", 65468, false},
    {13, "Haftkel", "هفتکل", 22119, false},
    {14, "Hamidiyeh", "حمیدیه", 53762, true},
    {15, "Hendijan", "هندیجان", 38762, false},
    {16, "Hoveyzeh", "هویزه", 38886, false},
    {17, "Izeh", "ایذه", 198871, false},
    {18, "Karun", "کارون", 105872, true},
    {19, "Khorramshahr", "خرمشهر", 170976, false},
    {20, "Lali", "لالی", 37963, false},
    {21, "Masjed Soleyman", "مسجدسلیمان", 113419, false},
    {22, "Omidiyeh", "امیدیه", 92335, false},
    {23, "Ramhormoz", "رامهرمز", 113776, false},
    {24, "Ramshir", "رامشیر", 54004, false},
    {25, "Shush", "شوش", 205720, false},
    {26, "Shushtar", "شوشتر", 192028, false},
    // Shadegan's 2016 figure is not in the source; it is a county of the province all the same.
    {27, "Shadegan", "شادگان", 0, false},
}};
}  // namespace

std::span<const County> counties() { return kCounties; }

const County* find_county(CountyCode code) {
  if (code == 0 || code > kCounties.size()) return nullptr;
  return &kCounties[code - 1];
}

std::optional<CountyCode> county_by_name(std::string_view name_en) {
  for (const auto& c : kCounties)
    if (c.name_en == name_en) return c.code;
  return std::nullopt;
}

}  // namespace refah
