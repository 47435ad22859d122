"""WeChat JS-SDK share configuration for the dealer's share page (``/p/<token>``).

In current WeChat a shared link turns into a card with a title, a description and a
picture only if the page calls ``wx.updateAppMessageShareData`` after a signed
``wx.config``. That signature needs a jsapi_ticket, which needs an Official Account access
token; see README.md in this folder for the set-up, what is cached where, and what a page
does when WeChat does not answer.
"""

from backend.wechat.client import WeChatClient, WeChatError
from backend.wechat.services import (
    JS_API_LIST,
    REFRESH_MARGIN,
    JsapiTickets,
    JsSdk,
    ShareConfig,
    signature,
)

__all__ = [
    "JS_API_LIST",
    "REFRESH_MARGIN",
    "JsSdk",
    "JsapiTickets",
    "ShareConfig",
    "WeChatClient",
    "WeChatError",
    "signature",
]
