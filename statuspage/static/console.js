// Select the whole value of a read-only secret field (a new API token, a private link) when it gets
// focus, so it can be copied at once. Loaded from this origin: the CSP allows no inline handlers.
document.addEventListener("focusin", function (event) {
  var el = event.target;
  if (el && el.classList && el.classList.contains("token-plaintext") && typeof el.select === "function") {
    el.select();
  }
});

// A field focused before this script ran (a slow load) is selected too.
(function () {
  var el = document.activeElement;
  if (el && el.classList && el.classList.contains("token-plaintext") && typeof el.select === "function") {
    el.select();
  }
})();
