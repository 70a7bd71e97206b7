// Log explorer: the filter box narrows the list of saved queries as you type
// (the form still submits ?q= for a link to share, and works without JavaScript).
(function () {
  "use strict";
  var box = document.getElementById("explorer-filter");
  if (!box) return;
  var items = Array.prototype.slice.call(document.querySelectorAll(".insight-item"));
  var groups = Array.prototype.slice.call(document.querySelectorAll(".insight-group"));
  var count = document.getElementById("explorer-count");
  var none = document.getElementById("explorer-none");
  var all = items.length;
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (item) {
      var text = item.getAttribute("data-search") || "";
      var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
      item.hidden = !ok;
      if (ok) shown += 1;
    });
    groups.forEach(function (g) {
      g.hidden = !g.querySelector(".insight-item:not([hidden])");
    });
    if (count) count.textContent = shown + " of " + all + " saved queries";
    if (none) none.hidden = shown !== 0 || all === 0;
  }
  box.addEventListener("input", apply);
})();
