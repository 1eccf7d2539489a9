// Make the embedded widgets work offline and with MathJax 3.
(function () {
  // 1. The widget manager (embed-amd.js) loads its icon fonts from the folder RequireJS believes it
  //    lives in: point that at the copy this book serves instead of a CDN.
  var root = new URL(document.documentElement.dataset.content_root || "./", document.baseURI);
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": new URL("_static/vendor/html-manager", root).href } });

  // 2. The widget manager typesets labels with the MathJax 2 call MathJax.Hub.Queue; the book loads
  //    MathJax 3. Offer that one call, forwarded to MathJax 3 once it has started.
  function hub() {
    return {
      Queue: function (job) {
        var element = job && job[2];
        var mj = window.MathJax;
        if (mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
          mj.startup.promise.then(function () { return mj.typesetPromise(element ? [element] : undefined); });
        }
      },
    };
  }
  window.MathJax = window.MathJax || {};
  window.MathJax.Hub = hub();
  var startup = (window.MathJax.startup = window.MathJax.startup || {});
  startup.ready = function () {
    window.MathJax.startup.defaultReady();
    window.MathJax.Hub = hub();
  };
})();
