/* Reporting's charts. Each <canvas data-chart="ID"> is drawn from the JSON in <script type="application/json"
   id="ID">, which the server wrote from the same table the page shows: translated labels, one dataset per
   series, suppressed cells ("<5") as null (a gap, never a made-up number), and an optional target line.
   No inline script and nothing from another origin: the page's Content-Security-Policy is script-src 'self'. */
(function () {
  "use strict";

  var PALETTE = ["#0b5cad", "#b35900", "#1e6b34", "#8a4baf", "#4a5866", "#b3261e", "#00838f", "#6d4c41",
    "#c2185b", "#2e7d32", "#283593", "#ef6c00"];
  var TARGET_COLOUR = "#b3261e";

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function datasetsOf(spec) {
    var line = spec.type === "line";
    var sets = spec.datasets.map(function (series, index) {
      var colour = PALETTE[index % PALETTE.length];
      return {
        label: series.label,
        data: series.data,
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        pointRadius: line ? 3 : 0,
        spanGaps: false,
        order: 2
      };
    });
    if (spec.target) {
      sets.push({
        type: "line",
        label: spec.target.label,
        data: spec.labels.map(function () { return spec.target.value; }),
        borderColor: TARGET_COLOUR,
        backgroundColor: TARGET_COLOUR,
        borderDash: [6, 4],
        borderWidth: 2,
        pointRadius: 0,
        fill: false,
        order: 1
      });
    }
    return sets;
  }

  function configOf(spec) {
    var locale = document.documentElement.lang || "sr-Latn";
    var suffix = spec.percent ? " %" : "";
    return {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasetsOf(spec) },
      options: {
        locale: locale,
        responsive: true,
        maintainAspectRatio: false,
        animation: reducedMotion() ? false : { duration: 300 },
        plugins: {
          legend: { display: spec.datasets.length > 1 || Boolean(spec.target) },
          tooltip: {
            callbacks: {
              label: function (item) {
                var value = item.raw === null ? spec.suppressed : item.formattedValue + suffix;
                return item.dataset.label + ": " + value;
              }
            }
          }
        },
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 60 } },
          y: {
            beginAtZero: true,
            suggestedMax: spec.percent ? 100 : undefined,
            title: { display: Boolean(spec.axis), text: spec.axis || "" },
            ticks: { precision: spec.integer ? 0 : undefined }
          }
        }
      }
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var spec = JSON.parse(source.textContent);
    new window.Chart(canvas, configOf(spec));
    canvas.setAttribute("data-drawn", "true");
  }

  /* The filter form offers only what the chosen indicator allows: a breakdown or a filter it does not have is
     switched off (the server refuses it anyway, with a message, when scripts do not run). */
  function followIndicator(select) {
    var form = select.form;
    function apply() {
      var option = select.options[select.selectedIndex];
      var dims = ((option && option.getAttribute("data-dims")) || "").split(" ");
      Array.prototype.forEach.call(form.querySelectorAll("[data-dim]"), function (input) {
        var allowed = dims.indexOf(input.getAttribute("data-dim")) !== -1;
        input.disabled = !allowed;
        if (!allowed && input.type === "checkbox") {
          input.checked = false;
        }
      });
    }
    select.addEventListener("change", apply);
    apply();
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  Array.prototype.forEach.call(document.querySelectorAll("select[data-dims-follow]"), followIndicator);
})();
