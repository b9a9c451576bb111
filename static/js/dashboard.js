/* Marketing dashboard: draws the charts from the JSON the page embeds (#dashboard-data)
   with the vendored Chart.js; a click on a point or a bar opens the customers, posts or
   answers behind it (the same links as the tables under the charts). */
(function () {
  "use strict";

  var COLOURS = {
    accent: "#2f5bea", light: "rgba(47, 91, 234, 0.18)", positive: "#2e7d32", negative: "#c62828",
    champions: "#2e7d32", affluents: "#2f5bea", advocates: "#b45309", misers: "#9ca3af"
  };

  function open(url) {
    if (url) { window.location.assign(url); }
  }

  function clickable(urlOf) {
    return {
      onClick: function (event, elements) {
        if (elements.length) { open(urlOf(elements[0])); }
      },
      onHover: function (event, elements) {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      }
    };
  }

  function base(extra) {
    var options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "nearest", intersect: true },
      plugins: { legend: { display: false } }
    };
    return Object.assign(options, extra);
  }

  function npsChart(canvas, data, labels) {
    return new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          {
            type: "line", label: labels.nps, data: data.values, borderColor: COLOURS.accent,
            pointRadius: 5, pointHoverRadius: 7, spanGaps: true,
            pointBackgroundColor: data.indicative.map(function (weak) { return weak ? "#fff" : COLOURS.accent; })
          },
          {
            type: "bar", label: labels.interval, backgroundColor: COLOURS.light, barPercentage: 0.35,
            data: data.low.map(function (low, i) { return low === null ? null : [low, data.high[i]]; })
          }
        ]
      },
      options: base(Object.assign(clickable(function (el) { return data.urls[el.index]; }), {
        scales: { y: { min: -100, max: 100 } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: function (ctx) {
            var n = data.n[ctx.dataIndex];
            return "n = " + n + (data.indicative[ctx.dataIndex] && n ? " (" + labels.indicative + ")" : "");
          } } }
        }
      }))
    });
  }

  function sentimentChart(canvas, data, labels) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{ label: labels.sentiment, data: data.values, borderColor: COLOURS.positive,
                     pointRadius: 4, pointHoverRadius: 6, spanGaps: true }]
      },
      options: base(Object.assign(clickable(function (el) { return data.urls[el.index]; }), {
        scales: { y: { min: -100, max: 100 } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: function (ctx) { return "n = " + data.n[ctx.dataIndex]; } } }
        }
      }))
    });
  }

  function barChart(canvas, data, label, horizontal) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: label, data: data.values,
          backgroundColor: (data.segments || []).length
            ? data.segments.map(function (s) { return COLOURS[s] || COLOURS.accent; })
            : data.labels.map(function (_, i) { return i === 0 ? COLOURS.accent : "#f59e0b"; })
        }]
      },
      options: base(Object.assign(clickable(function (el) { return data.urls[el.index]; }), {
        indexAxis: horizontal ? "y" : "x"
      }))
    });
  }

  // Dashed lines at the CLV and CRV thresholds that split the four segments.
  var thresholds = {
    id: "thresholds",
    afterDatasetsDraw: function (chart, args, options) {
      var ctx = chart.ctx, area = chart.chartArea;
      ctx.save();
      ctx.setLineDash([5, 4]);
      ctx.strokeStyle = "#667085";
      if (options.x !== null && options.x !== undefined) {
        var x = chart.scales.x.getPixelForValue(options.x);
        ctx.beginPath(); ctx.moveTo(x, area.top); ctx.lineTo(x, area.bottom); ctx.stroke();
      }
      if (options.y !== null && options.y !== undefined) {
        var y = chart.scales.y.getPixelForValue(options.y);
        ctx.beginPath(); ctx.moveTo(area.left, y); ctx.lineTo(area.right, y); ctx.stroke();
      }
      ctx.restore();
    }
  };

  function scatterChart(canvas, data, labels) {
    var datasets = data.segments.map(function (segment, i) {
      return {
        label: data.segment_labels ? data.segment_labels[i] : segment, pointRadius: 3, pointHoverRadius: 6,
        backgroundColor: COLOURS[segment] || COLOURS.accent,
        data: data.points.filter(function (p) { return p.s === segment; })
      };
    });
    var customerUrl = function (id) { return data.customer_url.replace(/0\/$/, id + "/"); };
    return new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      plugins: [thresholds],
      options: base(Object.assign(clickable(function (el) {
        return customerUrl(datasets[el.datasetIndex].data[el.index].c);
      }), {
        scales: { x: { title: { display: true, text: labels.clv } }, y: { title: { display: true, text: labels.crv } } },
        plugins: {
          legend: { display: true, position: "bottom" },
          thresholds: { x: data.clv_threshold, y: data.crv_threshold },
          tooltip: { callbacks: { label: function (ctx) {
            var p = ctx.raw;
            return "#" + p.c + " · " + labels.clv + " " + p.x.toFixed(2) + " · " + labels.crv + " " + p.y.toFixed(2);
          } } }
        }
      }))
    });
  }

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var labels = data.labels;
    var charts = {};
    var canvas = function (id) { return document.getElementById(id); };
    if (canvas("chart-nps")) { charts.nps = npsChart(canvas("chart-nps"), data.nps, labels); }
    if (canvas("chart-sentiment")) { charts.sentiment = sentimentChart(canvas("chart-sentiment"), data.sentiment, labels); }
    if (canvas("chart-voice")) { charts.voice = barChart(canvas("chart-voice"), data.voice, labels.posts, true); }
    if (canvas("chart-quadrants") && data.quadrants) {
      charts.quadrants = barChart(canvas("chart-quadrants"), data.quadrants, labels.customers, false);
    }
    if (canvas("chart-scatter") && data.scatter) { charts.scatter = scatterChart(canvas("chart-scatter"), data.scatter, labels); }
    window.dashboardCharts = charts;
    document.documentElement.dataset.chartsReady = "true";
  }

  // A preset period applies at once; custom dates wait for the Show button.
  function autoSubmit() {
    var period = document.getElementById("id_period");
    if (!period) { return; }
    period.addEventListener("change", function () {
      if (period.value !== "custom") { period.form.submit(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(); autoSubmit(); });
})();
