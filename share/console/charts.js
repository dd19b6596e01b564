// The dashboard's charts on Chart.js (Debian's libjs-chart.js, served by refahd at /vendor/chart.js
// as the UMD build: window.Chart). Each chart is made here with the page's language (digits, the
// legend's direction) and the page's font; destroyCharts() frees them when the page changes.
import { el } from "./dom.js";
import { chartLocale, tick } from "./format.js";
import { isRtl } from "./i18n.js";

export const COLOURS = ["#0f766e", "#d97706", "#7c3aed", "#2563eb", "#db2777", "#65a30d", "#475569"];

const live = new Set();

function defaults() {
  const Chart = window.Chart;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 13;
  Chart.defaults.color = "#334155";
  Chart.defaults.animation = false;
  return Chart;
}

function common(extra = {}) {
  return {
    locale: chartLocale(),
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: {
      legend: { rtl: isRtl(), textDirection: isRtl() ? "rtl" : "ltr", labels: { boxWidth: 14 } },
      tooltip: { rtl: isRtl(), textDirection: isRtl() ? "rtl" : "ltr" },
    },
    ...extra,
  };
}

// A canvas in a box of the chart's height (style.css), with a name for the browser test.
function canvasBox(name) {
  const canvas = el("canvas", { dataset: { chart: name }, role: "img" });
  return { box: el("div", { class: "chart-box" }, canvas), canvas };
}

function make(canvas, config) {
  const chart = new (defaults())(canvas, config);
  live.add(chart);
  return chart;
}

// Bars per label, in the reading direction (the first label on the right in Persian, as in the
// table beside it); datasets are {label, data}; yFormat formats the value axis.
export function barChart(name, labels, datasets, { yFormat, stacked = false } = {}) {
  const { box, canvas } = canvasBox(name);
  const chart = make(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: datasets.map((d, i) => ({ ...d, backgroundColor: COLOURS[i % COLOURS.length], borderRadius: 3, maxBarThickness: 90 })),
    },
    options: common({
      scales: {
        x: { stacked, grid: { display: false }, reverse: isRtl() },
        y: { stacked, beginAtZero: true, position: isRtl() ? "right" : "left", ticks: { callback: yFormat || tick } },
      },
    }),
  });
  return { box, chart };
}

// Daily visits (bars, left axis) and subsidy (a line, right axis).
export function usageChart(name, labels, visits, subsidy, visitsLabel, subsidyLabel, subsidyFormat) {
  const { box, canvas } = canvasBox(name);
  const chart = make(canvas, {
    data: {
      labels,
      datasets: [
        { type: "bar", label: visitsLabel, data: visits, backgroundColor: COLOURS[0], yAxisID: "y", borderRadius: 3, maxBarThickness: 40, order: 2 },
        {
          type: "line",
          label: subsidyLabel,
          data: subsidy,
          borderColor: COLOURS[1],
          backgroundColor: COLOURS[1],
          yAxisID: "y2",
          tension: 0,
          pointRadius: 2,
          order: 1,
        },
      ],
    },
    options: common({
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, position: "left", ticks: { precision: 0, callback: tick } },
        y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { callback: subsidyFormat } },
      },
    }),
  });
  return { box, chart };
}

// A line over time that the caller feeds (live activity): update(labels, values) redraws it.
export function liveLine(name, label) {
  const { box, canvas } = canvasBox(name);
  const chart = make(canvas, {
    type: "line",
    data: {
      labels: [],
      datasets: [
        {
          label,
          data: [],
          borderColor: COLOURS[0],
          backgroundColor: "rgba(15, 118, 110, 0.15)",
          fill: true,
          tension: 0.2,
          pointRadius: 0,
          borderWidth: 2,
        },
      ],
    },
    options: common({
      scales: {
        x: { grid: { display: false }, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, suggestedMax: 5, ticks: { callback: tick } },
      },
    }),
  });
  const update = (labels, values) => {
    chart.data.labels = labels;
    chart.data.datasets[0].data = values;
    chart.update("none");
  };
  return { box, chart, update };
}

export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}
