/* Draws every <canvas data-chart='{...}'> with Chart.js (vendored: chart.umd.js).
 *
 * The data attribute holds {type, labels, datasets: [{label, data, unit, color?,
 * draw?}], horizontal?}. A dataset's unit is "money" (integer minor units,
 * written as ¥1,234.56) or "count"; money goes on one axis, counts on another
 * (on the right when both are shown). Its colour is its figure's (the server
 * picks it, the same on every chart); draw is "bar", "line" or "dashed" when it
 * is drawn otherwise than its chart's type. Lines are straight between points:
 * a smoothed curve invents values between days. No inline script: the page's
 * CSP allows only files from this origin. */
(function () {
  "use strict";

  // Okabe-Ito, for datasets the server gives no colour.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"];
  var SYMBOLS = { CNY: "¥" };

  function money(minor, currency) {
    var n = Math.round(Number(minor));
    var sign = n < 0 ? "-" : "";
    n = Math.abs(n);
    var whole = Math.floor(n / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = (n % 100).toString().padStart(2, "0");
    var symbol = SYMBOLS[currency] || currency + " ";
    return sign + symbol + whole + "." + cents;
  }

  function count(value) {
    return Math.round(Number(value)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function draw(canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var currency = canvas.getAttribute("data-currency") || "CNY";
    var units = {};
    spec.datasets.forEach(function (d) { units[d.unit] = true; });
    var both = units.money && units.count;
    var valueAxis = spec.horizontal ? "x" : "y";

    var datasets = spec.datasets.map(function (d, i) {
      var color = d.color || PALETTE[i % PALETTE.length];
      var draw = d.draw || spec.type;
      var line = draw !== "bar";
      var dashed = draw === "dashed";
      return {
        type: line ? "line" : "bar",
        label: d.label,
        data: d.data,
        unit: d.unit,
        yAxisID: spec.horizontal ? undefined : (both ? d.unit : "y"),
        xAxisID: spec.horizontal ? "x" : undefined,
        backgroundColor: line ? color : color + "b3",
        borderColor: color,
        borderWidth: line ? 2 : 0,
        borderDash: dashed ? [6, 4] : [],
        pointRadius: line ? 2.5 : 0,
        pointStyle: dashed ? "triangle" : "circle",
        tension: 0,
        // lines over bars: a line is never hidden under a bar
        order: line ? 0 : 1
      };
    });

    function tick(unit) {
      return function (value) { return unit === "money" ? money(value, currency) : count(value); };
    }

    var scales = {};
    if (spec.horizontal) {
      scales.x = { beginAtZero: true, ticks: { callback: tick(spec.datasets[0].unit) } };
    } else if (both) {
      scales.money = { position: "left", beginAtZero: true, ticks: { callback: tick("money") } };
      scales.count = {
        position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
        ticks: { callback: tick("count"), precision: 0 }
      };
    } else {
      var only = units.money ? "money" : "count";
      scales.y = { beginAtZero: true, ticks: { callback: tick(only), precision: 0 } };
    }

    new window.Chart(canvas, {
      type: spec.type === "line" ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: spec.horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { display: spec.datasets.length > 1, position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = ctx.parsed[valueAxis];
                var text = ctx.dataset.unit === "money" ? money(v, currency) : count(v);
                return ctx.dataset.label + ": " + text;
              }
            }
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function start() {
    if (!window.Chart) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
