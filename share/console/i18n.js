// The dashboard's language: Persian (right to left) by default, English as an option, remembered in
// localStorage. t() looks a string up in strings.js; elements with data-i18n="key" get their text
// from it whenever the language changes.
import { STRINGS } from "./strings.js";

const STORAGE_KEY = "refah.lang";
const listeners = [];
let lang = localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "fa";

export function currentLang() {
  return lang;
}

export function isRtl() {
  return lang === "fa";
}

// The string `key` with each {name} replaced by vars[name]; the key itself when it is missing.
export function t(key, vars = {}) {
  const text = STRINGS[lang][key];
  if (text === undefined) {
    console.warn("refah: no " + lang + " string for " + key);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// Sets the document's language and direction and the text of every data-i18n element.
export function applyLang(root = document) {
  document.documentElement.lang = lang;
  document.documentElement.dir = isRtl() ? "rtl" : "ltr";
  document.title = t("app.title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export function setLang(next) {
  lang = next === "en" ? "en" : "fa";
  localStorage.setItem(STORAGE_KEY, lang);
  applyLang();
  for (const f of listeners) f(lang);
}

// f(lang) after every change of language.
export function onLangChange(f) {
  listeners.push(f);
}
