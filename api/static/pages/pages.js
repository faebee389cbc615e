// The pages work without this script; it only makes them a little better.
// A file of the service's own: the Content-Security-Policy allows no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // A form sent once appends once: its button stays pressed until the next page.
  document.querySelectorAll("form.write").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    });
  });
  // Times are shown in UTC; the tooltip gives them in the reader's own zone too.
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var local = new Date(element.getAttribute("datetime"));
    if (!isNaN(local.getTime())) {
      element.title = element.getAttribute("datetime") + " (" + local.toLocaleString() + " local)";
    }
  });
});
