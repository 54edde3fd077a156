// matsense book: click (or Enter) on a figure to see it enlarged; click, Escape or Enter closes it.
(function () {
  "use strict";
  function close(overlay, opener) {
    overlay.remove();
    document.removeEventListener("keydown", overlay._onKey);
    if (opener) { opener.focus(); }
  }
  function open(img) {
    var overlay = document.createElement("div");
    overlay.className = "matsense-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-label", "Enlarged figure (click or press Escape to close)");
    overlay.tabIndex = -1;
    var big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    overlay.appendChild(big);
    overlay.addEventListener("click", function () { close(overlay, img); });
    overlay._onKey = function (event) {
      if (event.key === "Escape" || event.key === "Enter") { event.preventDefault(); close(overlay, img); }
    };
    document.addEventListener("keydown", overlay._onKey);
    document.body.appendChild(overlay);
    overlay.focus();
  }
  function setUp() {
    var images = document.querySelectorAll(".bd-article figure img, .bd-article .cell_output img");
    images.forEach(function (img) {
      if (img.closest("a")) { return; }   // a linked image keeps its link
      img.tabIndex = 0;
      img.title = "Click to enlarge";
      img.addEventListener("click", function () { open(img); });
      img.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); open(img); }
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
