"""The PIN pad page: the only place a PIN is typed. Japanese by default, English on request.

The page is static HTML with one small script (digit buttons); it works without the script too
(type the digits, press Enter). Its form posts to the agent itself; the agent answers with a
redirect back to the page, which then shows the outcome.

Signed lines: every line the card signs is shown in full (lines wrap, nothing is cut off
sideways). When they do not fit the list's box, the script disables the PIN field until the list
has been scrolled to its end (mouse, touch, or keyboard: the list takes focus, arrow keys /
Page Down / End scroll it), then moves the focus to the PIN field.

Keyboard: the page takes the focus for its first step on load (the list when it must be read
to the end, else the PIN field); a browser does not honour `autofocus` in a cross-origin frame,
so the desk page focuses the frame and this script focuses the field, and the PIN field comes
first in the tab order (the language link is last).
"""

from __future__ import annotations

import re
from html import escape

from madoguchi.agent.requests import CANCELLED, DONE, FAILED, CardRequest, Kind

LANGS = ("ja", "en")

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "暗証番号の入力",
        "switch": "English",
        "intro.authenticate": "マイナンバーカードを使って受付を開始します。",
        "intro.authenticate-records": "マイナンバーカードで本人確認をして、あなたについての記録を表示します。",
        "intro.sign-completion": "マイナンバーカードで次の内容に署名して、手続きを確定します。内容をご確認ください。",
        "intro.read-attributes": "マイナンバーカードから氏名・住所・生年月日・性別を読み取ります。",
        "pin.auth": "利用者証明用電子証明書の暗証番号（数字4桁）",
        "pin.support": "券面事項入力補助用の暗証番号（数字4桁）",
        "tries": "残り{n}回",
        "last_try": "あと1回間違えると暗証番号がロックされます。",
        "wrong_pin": "暗証番号が違います。残り{n}回です。",
        "pin_format": "暗証番号は数字4桁で入力してください。",
        "delete": "1文字消す",
        "clear": "クリア",
        "submit": "確定",
        "done": "完了しました。画面の案内に従ってください。",
        "pin_blocked": "暗証番号がロックされています。このカードでは手続きできません。暗証番号の再設定は、お住まいの市区町村の窓口で行えます。",
        "card_removed": "カードが取り出されました。もう一度カードを置いて、最初からやり直してください。",
        "timeout": "時間切れになりました。もう一度最初からやり直してください。",
        "cancelled": "この操作は取り消されました。",
        "failed": "カードを読み取れませんでした。カードを置き直して、もう一度お試しください。",
        "unknown": "この操作は見つかりません（期限切れの可能性があります）。",
        "events_undelivered": "この端末がサーバーと通信できないため、カードを使えませんでした。職員にお知らせください。",
        "superseded": "この端末で新しい操作が始まったため、この操作は取り消されました。",
        "display_caption": "署名する内容",
        "read_all": "署名する内容を最後までご確認ください（スクロール、または↓キー・Endキー）。確認すると暗証番号を入力できます。",
    },
    "en": {
        "title": "Enter your PIN",
        "switch": "日本語",
        "intro.authenticate": "Your My Number card will be used to start a visit.",
        "intro.authenticate-records": "Your My Number card will confirm who you are, to show the records about you.",
        "intro.sign-completion": "Your My Number card will sign the following to complete the procedure. Please check it.",
        "intro.read-attributes": "Your name, address, date of birth and sex will be read from your My Number card.",
        "pin.auth": "User authentication PIN (4 digits)",
        "pin.support": "Card information input support PIN (4 digits)",
        "tries": "{n} tries left",
        "tries.one": "1 try left",
        "last_try": "One more wrong PIN will lock it.",
        "wrong_pin": "Wrong PIN. {n} tries left.",
        "wrong_pin.one": "Wrong PIN. 1 try left.",
        "pin_format": "The PIN is 4 digits.",
        "delete": "Delete one digit",
        "clear": "Clear",
        "submit": "OK",
        "done": "Done. Please follow the desk screen.",
        "pin_blocked": "The PIN is locked. This card cannot be used. The PIN can be reset at your municipal office.",
        "card_removed": "The card was removed. Place it again and start over.",
        "timeout": "Time ran out. Please start over.",
        "cancelled": "This request was cancelled.",
        "failed": "The card could not be read. Place it again and retry.",
        "unknown": "This request does not exist (it may have expired).",
        "events_undelivered": "This terminal cannot reach the server, so the card was not used. Please tell a member of staff.",
        "superseded": "A newer request on this terminal replaced this one.",
        "display_caption": "What the card signs",
        "read_all": "Please read what the card signs to the end (scroll, or press the Down or End key). The PIN field opens when you reach the end.",
    },
}

STYLE = """
*{box-sizing:border-box}
body{margin:0;padding:24px;font-family:"Noto Sans CJK JP","Noto Sans JP",sans-serif;
 background:#f6f7f9;color:#111;font-size:20px;line-height:1.5}
main{position:relative;max-width:560px;margin:0 auto;background:#fff;border:1px solid #ccd;
 border-radius:12px;padding:24px}
h1{font-size:28px;margin:0 0 12px;padding-right:96px}
.lang{position:absolute;top:24px;right:24px;font-size:16px}
.notice{padding:12px;border-radius:8px;margin:12px 0;font-weight:bold}
.warn{background:#fff3cd;border:2px solid #b58100}
.error{background:#fde2e1;border:2px solid #b3261e}
.ok{background:#e3f4e5;border:2px solid #1e7b34}
.display{border:2px solid #345;border-radius:8px;padding:8px 16px;margin:12px 0;font-size:22px}
.display ul{margin:4px 0;padding-left:1.6em;max-height:45vh;overflow-y:auto;overflow-x:hidden}
.display li{overflow-wrap:anywhere;word-break:normal}
.display .nowrap{white-space:nowrap}
.display ul:focus-visible{outline:4px solid #0b57d0;outline-offset:2px}
.readall{font-size:18px;font-weight:bold;color:#7a4b00;margin:4px 0}
input:disabled,button:disabled{opacity:.45}
label{display:block;font-weight:bold;margin-top:12px}
.tries{font-size:18px;margin:4px 0 8px}
input[type=password]{width:100%;font-size:44px;letter-spacing:16px;text-align:center;padding:8px;
 border:2px solid #345;border-radius:8px}
.keys{display:grid;grid-template-columns:repeat(3,1fr);gap:10px;margin-top:14px}
.keys button{font-size:36px;min-height:72px;border-radius:10px;border:2px solid #345;background:#fff}
.keys button.small{font-size:20px}
button:focus-visible,input:focus-visible,a:focus-visible{outline:4px solid #0b57d0;outline-offset:2px}
.submit{width:100%;margin-top:14px;font-size:30px;min-height:72px;border-radius:10px;border:0;
 background:#0b57d0;color:#fff;font-weight:bold}
"""

SCRIPT = """
(function(){
 var f=document.getElementById('pinform');if(!f)return;var i=f.elements.pin;
 var list=document.getElementById('signed-lines');var hint=document.getElementById('read-all');
 var controls=f.querySelectorAll('input[type=password],button');
 function atEnd(){return !list||list.hasAttribute('data-read')||
  list.scrollTop+list.clientHeight>=list.scrollHeight-2;}
 function enable(on){controls.forEach(function(c){c.disabled=!on;});if(hint)hint.hidden=on;}
 function firstStep(){if(atEnd()){i.focus();}else{list.focus();}}
 function check(){if(atEnd()&&i.disabled){enable(true);i.focus();}}
 if(!atEnd()){
  enable(false);
  // The pad's size can change after load (the desk page shows and sizes the frame, fonts
  // arrive): a list that no longer overflows has been read, and no scroll event would come.
  list.addEventListener('scroll',check);window.addEventListener('resize',check);
  if(window.ResizeObserver){var ro=new ResizeObserver(check);ro.observe(list);
   Array.prototype.forEach.call(list.children,function(li){ro.observe(li);});}
  if(document.fonts&&document.fonts.ready){document.fonts.ready.then(check);}
  window.addEventListener('load',check);
 }
 f.querySelectorAll('[data-digit]').forEach(function(b){b.addEventListener('click',function(){
  if(i.value.length<4){i.value+=b.getAttribute('data-digit');}i.focus();});});
 f.querySelector('[data-action=delete]').addEventListener('click',function(){i.value=i.value.slice(0,-1);i.focus();});
 f.querySelector('[data-action=clear]').addEventListener('click',function(){i.value='';i.focus();});
 f.addEventListener('submit',function(){f.querySelector('.submit').disabled=true;});
 window.addEventListener('focus',function(){if(document.activeElement===document.body)firstStep();});
 firstStep();
})();
"""


_MASKED = re.compile(r"＊{4}[0-9A-Za-z]{0,4}")


def masked_unbroken(line: str) -> str:
    """A signed line as HTML, escaped, its masked numbers (＊＊＊＊0001) each in a `nowrap` span:
    it broke 「＊」 / 「＊＊＊0001」 at the end of a line. The desk's pages set the same lines so
    (`madoguchi.markup.masked_unbroken`)."""
    return masked_kept_whole(escape(line))


def masked_kept_whole(html: str) -> str:
    """`html` (already escaped) with each masked number in it in a `nowrap` span. A browser and
    WeasyPrint may break a line between any two full-width characters, so between the stars."""
    return _MASKED.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', html)


# A name's word in a signed line (鈴木, 一郎, ｽｽﾞｷ, イチロウ): kana, half-width kana or kanji,
# begun after the line's label (「…: 」), a space or 「（」 and ended by a space, 「（」, 「）」
# or the line's end; 2 to 10 characters (a longer run is a phrase, which may break).
_NAME_WORD = re.compile(
    r"(?<=[:：\s\u3000（])"
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆〇ヵヶ]{2,10}"
    r"(?=[\s\u3000（）]|$)"
)


def signed_line(line: str) -> str:
    """A signed line as HTML, escaped, its masked numbers and the words of its names each in a
    `nowrap` span: a browser breaks a line between any two Japanese characters, and at 390 px
    the lines read 「鈴木 一」 / 「郎」 and 「ｽｽﾞｷ ｲﾁ」 / 「ﾛｳ」. The desk's pages, the resident's
    and the officials' set the same lines so (`madoguchi.markup.signed_line`)."""
    html = _NAME_WORD.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', escape(line))
    return masked_kept_whole(html)


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else "ja"


def render(
    request: CardRequest | None, lang: str, nonce: str, desk_origin: str | None = None
) -> str:
    """The PIN pad for `request`. `desk_origin` is the server's desk origin: an authentication
    signed over another origin (the resident's own page) starts no visit, and says so."""
    t = TEXT[pick_lang(lang)]
    other = "en" if lang == "ja" else "ja"
    # The language link comes last in the DOM (shown top right) so Tab reaches the PIN first.
    switch = f'<a class="lang" href="?lang={other}" lang="{other}">{t["switch"]}</a>'
    body: list[str] = [f"<h1>{escape(t['title'])}</h1>"]
    if request is None:
        body.append(f'<p class="notice error" role="alert">{escape(t["unknown"])}</p>')
        return _page(lang, t["title"], "".join(body) + switch, nonce)
    intro = "intro." + request.kind.value
    if (
        request.kind is Kind.AUTHENTICATE
        and desk_origin
        and request.origin not in (None, desk_origin)
    ):
        intro = "intro.authenticate-records"
    body.append(f"<p>{escape(t[intro])}</p>")
    if request.kind is Kind.SIGN_COMPLETION and request.display:
        lines = "".join(f"<li>{signed_line(line)}</li>" for line in request.display)
        # A PIN was already sent for this request (the pad shows again after a wrong one):
        # the lines were read to their end then, and are not to be read again before the next.
        read = " data-read" if request.notice else ""
        body.append(
            f'<section class="display" aria-labelledby="signed-caption">'
            f'<strong id="signed-caption">{escape(t["display_caption"])}</strong>'
            # The lines are Japanese whatever the pad's language (lang: a screen reader reads
            # them in a Japanese voice, and the browser breaks them as Japanese).
            f'<ul id="signed-lines" lang="ja" tabindex="0" aria-labelledby="signed-caption" '
            'aria-describedby="read-all" '
            f'data-testid="signed-lines"{read}>{lines}</ul>'
            f'<p class="readall" id="read-all" role="status" hidden>{escape(t["read_all"])}</p>'
            "</section>"
        )
    if request.status == DONE:
        body.append(f'<p class="notice ok" role="status">{escape(t["done"])}</p>')
    elif request.status == CANCELLED:
        said = t["superseded" if request.error == "superseded" else "cancelled"]
        body.append(f'<p class="notice warn" role="alert">{escape(said)}</p>')
    elif request.status == FAILED:
        key = (
            request.error
            if request.error in ("pin_blocked", "card_removed", "timeout", "events_undelivered")
            else "failed"
        )
        body.append(f'<p class="notice error" role="alert">{escape(t[key or "failed"])}</p>')
    else:
        body.append(_form(request, lang, t))
    return _page(lang, t["title"], "".join(body) + switch, nonce)


def _form(request: CardRequest, lang: str, t: dict[str, str]) -> str:
    out: list[str] = []
    n = request.tries_left
    if request.notice == "wrong_pin" and n is not None:
        wrong = _counted(t, "wrong_pin", n)
        out.append(f'<p class="notice error" role="alert">{escape(wrong)}</p>')
    elif request.notice == "pin_format":
        out.append(f'<p class="notice error" role="alert">{escape(t["pin_format"])}</p>')
    if n == 1:
        out.append(f'<p class="notice warn">{escape(t["last_try"])}</p>')
    label = t["pin." + request.kind.pin]
    tries = f'<p class="tries" id="tries">{escape(_counted(t, "tries", n))}</p>' if n else ""
    keys = "".join(
        f'<button type="button" data-digit="{d}" aria-label="{d}">{d}</button>' for d in "123456789"
    )
    keys += (
        f'<button type="button" class="small" data-action="delete">{escape(t["delete"])}</button>'
        '<button type="button" data-digit="0" aria-label="0">0</button>'
        f'<button type="button" class="small" data-action="clear">{escape(t["clear"])}</button>'
    )
    out.append(
        f'<form id="pinform" method="post" action="/pinpad/{escape(request.id)}" autocomplete="off">'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<label for="pin">{escape(label)}</label>{tries}'
        '<input type="password" id="pin" name="pin" inputmode="numeric" pattern="[0-9]{4}" '
        'minlength="4" maxlength="4" required autofocus autocomplete="off" aria-describedby="tries" '
        'data-testid="pin">'
        f'<div class="keys">{keys}</div>'
        f'<button type="submit" class="submit">{escape(t["submit"])}</button></form>'
    )
    return "".join(out)


def _counted(t: dict[str, str], key: str, n: int) -> str:
    """The text of `key` for `n` tries: its `.one` form for one (English: "1 try left")."""
    template = t.get(f"{key}.one", t[key]) if n == 1 else t[key]
    return template.format(n=n)


def _page(lang: str, title: str, body: str, nonce: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title><style nonce="{nonce}">{STYLE}</style></head>'
        f'<body><main>{body}</main><script nonce="{nonce}">{SCRIPT}</script></body></html>'
    )
