// Progressive enhancement: a "Copy" button beside each usage snippet's title. Without JavaScript the
// snippets are still plain text, selected whole by one click (user-select: all).
document.querySelectorAll("pre.snippet").forEach(function (pre) {
  var title = pre.previousElementSibling;
  if (!navigator.clipboard || !title) return;  // the clipboard API exists only on https and localhost
  var button = document.createElement("button");
  button.type = "button";
  button.className = "copy small";
  button.textContent = "Copy";
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(pre.innerText).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    }, function () { button.textContent = "Select and copy"; });
  });
  title.appendChild(button);
});
