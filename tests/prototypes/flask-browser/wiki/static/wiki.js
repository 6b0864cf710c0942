// Ask before following links that throw things away (Delete).
document.addEventListener("click", function (event) {
  var link = event.target.closest("a[data-confirm]");
  if (link && !window.confirm(link.dataset.confirm)) {
    event.preventDefault();
  }
});

// Warn before leaving the editor with unsaved changes.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form.editor");
  if (!form) {
    return;
  }
  var dirty = false;
  form.addEventListener("input", function () {
    dirty = true;
  });
  form.addEventListener("submit", function () {
    dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
});
