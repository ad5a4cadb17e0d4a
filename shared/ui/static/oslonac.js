// What the pages need beyond htmx, without inline script (the Content-Security-Policy allows none):
// a form with data-confirm="question" asks before it is sent.
document.addEventListener("submit", function (event) {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A button with data-removes="selector" removes its closest ancestor matching the selector (a form's repeated
// fieldset: a household member, a plan's action).
document.addEventListener("click", function (event) {
  const button = event.target instanceof Element ? event.target.closest("button[data-removes]") : null;
  const part = button ? button.closest(button.dataset.removes) : null;
  if (part) {
    part.remove();
  }
});
