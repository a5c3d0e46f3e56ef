// The browser test reads #marker, then rewrites MARKER below and waits for the new text without a reload.
const MARKER = "marker one";

document.querySelector("#marker").textContent = MARKER;

if (import.meta.hot) {
  import.meta.hot.accept();
}
