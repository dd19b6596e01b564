// Numbers, money and dates as people read them: Persian digits and the Jalali (Solar Hijri)
// calendar in Persian, Western digits and the Gregorian calendar in English. Times are shown in
// the programme's zone (Tehran); local days (days since 1970-01-01 in that zone, docs/HTTP.md)
// are dates already, so they are formatted as UTC midnights.
import { currentLang } from "./i18n.js";

const ZONE = "Asia/Tehran";
const DAY_MS = 86400000;

// A date: "۱۴۰۵/۰۹/۱۳" in Persian, "04 Dec 2026" in English (never an ambiguous 04/12).
const DATE_FA = { year: "numeric", month: "2-digit", day: "2-digit" };
const DATE_EN = { year: "numeric", month: "short", day: "2-digit" };

function locale() {
  return currentLang() === "fa" ? "fa-IR" : "en-GB";
}

function calendarLocale() {
  return currentLang() === "fa" ? "fa-IR-u-ca-persian-nu-arabext" : "en-GB";
}

// 1234567 -> "۱٬۲۳۴٬۵۶۷" / "1,234,567"
export function count(n) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 0 }).format(n);
}

// Integer rials with thousands separators (the unit is in the heading).
export function rials(n) {
  return count(n);
}

// An integer as people type it, in Persian, Arabic or Western digits ("۱۲" is 12); NaN if it is not one.
export function readInteger(text) {
  const western = text.trim().replace(/[\u06f0-\u06f9\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) & 0xf));
  return /^[0-9]+$/.test(western) ? Number(western) : NaN;
}

// A number with `digits` decimals.
export function decimal(x, digits = 1) {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
}

// A fraction (0.0123) as a percentage ("1.23%"), `digits` decimals.
export function percent(fraction, digits = 2) {
  return new Intl.NumberFormat(locale(), {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(fraction);
}

// Basis points (0..10,000) as a percentage with one decimal.
export function basisPoints(bp) {
  return percent(bp / 10000, 1);
}

// A local day as a date.
export function day(d) {
  const options = currentLang() === "fa" ? DATE_FA : DATE_EN;
  return new Intl.DateTimeFormat(calendarLocale(), { timeZone: "UTC", ...options }).format(new Date(d * DAY_MS));
}

// A local day as a short date for a chart's axis: "۰۹/۱۳" / "04 Dec".
export function dayShort(d) {
  const options = currentLang() === "fa" ? { month: "2-digit", day: "2-digit" } : { month: "short", day: "2-digit" };
  return new Intl.DateTimeFormat(calendarLocale(), { timeZone: "UTC", ...options }).format(new Date(d * DAY_MS));
}

// Microseconds since the epoch as a date and time in Tehran: "۱۴۰۵/۰۹/۱۵، ۰۴:۳۶:۴۵".
export function time(us) {
  const at = new Date(us / 1000);
  const date = new Intl.DateTimeFormat(calendarLocale(), { timeZone: ZONE, ...(currentLang() === "fa" ? DATE_FA : DATE_EN) });
  const clockTime = new Intl.DateTimeFormat(calendarLocale(), {
    timeZone: ZONE,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  return date.format(at) + (currentLang() === "fa" ? "، " : ", ") + clockTime.format(at);
}

// A wall-clock time of this browser (for the live chart's axis): "۱۴:۰۵:۰۹".
export function clock(ms) {
  return new Intl.DateTimeFormat(calendarLocale(), {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(ms));
}

// A name from the ledger (Persian) with its id, kept in its own direction inside text of either
// language: "فرهنگسرا ۲۹ (29)" rather than "(29) فرهنگسرا ۲۹" on an English page.
export function named(name, id) {
  return "\u2068" + name + "\u2069 (" + count(id) + ")";
}

// A hash or key: its first `n` hex digits and an ellipsis (the whole is in the title).
export function shortHex(hex, n = 16) {
  return hex && hex.length > n ? hex.slice(0, n) + "…" : hex || "";
}

// A chart's tick: at most three significant digits, in the page's digits (Chart.js itself would
// write 0 as "0" whatever the locale).
export function tick(x) {
  return new Intl.NumberFormat(locale(), { maximumSignificantDigits: 3 }).format(x);
}

// The locale Chart.js formats its ticks with.
export function chartLocale() {
  return locale();
}
