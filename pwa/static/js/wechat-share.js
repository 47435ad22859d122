/* The share card in WeChat: wx.config with the server's signature, then the title,
 * description, link and picture for both share targets (a chat, Moments).
 *   <script type="application/json" id="wx-share">{"config": {...}, "share": {...}}</script>
 *   <script src="https://res.wx.qq.com/open/js/jweixin-1.6.0.js" defer></script>
 *   <script src="/static/js/wechat-share.js" defer></script>
 */
(function () {
  'use strict';

  var holder = document.getElementById('wx-share');
  // Outside WeChat (or if its script did not load) the og: tags describe the page.
  if (!holder || typeof window.wx === 'undefined') return;
  var data;
  try {
    data = JSON.parse(holder.textContent);
  } catch (err) {
    return;
  }
  var config = data.config;
  var share = data.share;
  window.wx.config({
    debug: false,
    appId: config.appId,
    timestamp: config.timestamp,
    nonceStr: config.nonceStr,
    signature: config.signature,
    jsApiList: config.jsApiList
  });
  window.wx.ready(function () {
    window.wx.updateAppMessageShareData({
      title: share.title,
      desc: share.desc,
      link: share.link,
      imgUrl: share.imgUrl
    });
    // Moments shows a title and a picture only.
    window.wx.updateTimelineShareData({
      title: share.title,
      link: share.link,
      imgUrl: share.imgUrl
    });
  });
  window.wx.error(function () {
    // A refused signature (say, a domain not on the account's JS safe list): WeChat falls
    // back to the page title and og: tags; nothing to show the visitor.
  });
})();
