// The province's counties by the code events carry (ledger/province.cc numbers them; codes never
// change), with their Persian and English names, for the dashboard's tables and charts.
import { currentLang, t } from "./i18n.js";

const COUNTIES = {
  1: ["آبادان", "Abadan"],
  2: ["آغاجاری", "Aghajari"],
  3: ["اهواز", "Ahvaz"],
  4: ["اندیکا", "Andika"],
  5: ["اندیمشک", "Andimeshk"],
  6: ["باغملک", "Bagh-e Malek"],
  7: ["بندر ماهشهر", "Bandar-e Mahshahr"],
  8: ["باوی", "Bavi"],
  9: ["بهبهان", "Behbahan"],
  10: ["دشت آزادگان", "Dasht-e Azadegan"],
  11: ["دزفول", "Dezful"],
  12: ["گتوند", "Gotvand"],
  13: ["هفتکل", "Haftkel"],
  14: ["حمیدیه", "Hamidiyeh"],
  15: ["هندیجان", "Hendijan"],
  16: ["هویزه", "Hoveyzeh"],
  17: ["ایذه", "Izeh"],
  18: ["کارون", "Karun"],
  19: ["خرمشهر", "Khorramshahr"],
  20: ["لالی", "Lali"],
  21: ["مسجدسلیمان", "Masjed Soleyman"],
  22: ["امیدیه", "Omidiyeh"],
  23: ["رامهرمز", "Ramhormoz"],
  24: ["رامشیر", "Ramshir"],
  25: ["شوش", "Shush"],
  26: ["شوشتر", "Shushtar"],
  27: ["شادگان", "Shadegan"],
};

// The county's name in the page's language; 0 is the whole province.
export function countyName(code) {
  if (code === 0) return t("county.province");
  const names = COUNTIES[code];
  if (!names) return t("county.unknown", { code });
  return currentLang() === "fa" ? names[0] : names[1];
}
