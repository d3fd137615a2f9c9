"""Build bench/data/urls.jsonl: a small labelled URL set for judging fraudurl (see bench/data/README.md).

    python bench/links_data.py [--shared ../shared/data]

Hand-written sets (written for tamis, CC0): popular legitimate sites, legitimate long URLs with
query strings, link shorteners, and phishing-style URLs following well-known patterns (brand in a
subdomain, lookalike and typosquatted names, IP hosts, punycode homographs, free hosts, userinfo
tricks, throwaway TLDs). None of the phishing-style URLs is taken from a live feed: they are
patterns, and any resemblance to a registered domain is by construction of the pattern.
Plus, when the shared data is there, the URLs of the SMS labelled smishing in sms_smishing_5971
(CC BY 4.0, Mishra & Soni 2022, doi:10.17632/f45bkkt8pr.1).
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import idna

LEGIT_HOME = """google.com www.youtube.com https://www.facebook.com/ https://www.wikipedia.org/ amazon.com
https://www.instagram.com/ twitter.com https://x.com/ https://www.linkedin.com/ reddit.com https://www.netflix.com/
microsoft.com https://www.apple.com/ github.com stackoverflow.com https://www.bbc.co.uk/ https://www.nytimes.com/
theguardian.com https://edition.cnn.com/ https://www.paypal.com/ ebay.com yahoo.com bing.com https://www.whatsapp.com/
https://zoom.us/ dropbox.com https://open.spotify.com/ twitch.tv https://www.tiktok.com/ pinterest.com wordpress.org
https://www.mozilla.org/ python.org https://openai.com/ booking.com airbnb.com https://www.imdb.com/ weather.com
espn.com craigslist.org etsy.com https://www.walmart.com/ target.com https://www.chase.com/ bankofamerica.com
https://www.wellsfargo.com/ hsbc.co.uk https://www.lemonde.fr/ spiegel.de https://www.rakuten.co.jp/ naver.com
baidu.com yandex.ru https://www.gov.uk/ https://www.irs.gov/ usps.com https://www.dhl.com/ fedex.com ups.com
https://www.coinbase.com/ binance.com""".split()

LEGIT_LONG = """https://www.amazon.com/dp/B08N5WRWNW?ref=ppx_yo2ov_dt_b_product_details&th=1
https://www.google.com/search?q=weather+paris&oq=weather+paris&sourceid=chrome&ie=UTF-8
https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI&index=2
https://github.com/python/cpython/blob/main/Lib/urllib/parse.py#L120
https://en.wikipedia.org/wiki/Public_Suffix_List
https://stackoverflow.com/questions/11227809/why-is-processing-a-sorted-array-faster-than-processing-an-unsorted-array
https://www.nytimes.com/2024/05/12/technology/ai-chatbots-search.html
https://www.theguardian.com/world/2024/jun/01/european-elections-what-to-expect
https://www.bbc.co.uk/news/world-europe-68912345
https://docs.python.org/3/library/urllib.parse.html#url-parsing
https://www.ebay.com/itm/314159265358?hash=item4924d4c1e2:g:abcAAOSwxyzd&amdata=enc%3AAQAIAAAA
https://www.booking.com/hotel/fr/le-petit-paris.html?aid=304142&checkin=2024-07-01&checkout=2024-07-05&group_adults=2
https://www.linkedin.com/jobs/view/3912345678/?refId=abc123&trackingId=xyz%3D%3D
https://accounts.google.com/signin/v2/identifier?service=mail&continue=https%3A%2F%2Fmail.google.com%2Fmail%2F
https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=4765445b-32c6-49b0-83e6-1d93765276ca&response_type=code&scope=openid
https://www.paypal.com/myaccount/summary
https://www.paypal.com/signin?returnUri=%2Fmyaccount%2Ftransfer
https://appleid.apple.com/account/manage
https://secure.chase.com/web/auth/dashboard#/dashboard/overview
https://www.irs.gov/refunds
https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223344556677
https://www.dhl.com/us-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=1234567890
https://www.fedex.com/fedextrack/?trknbr=771234567890
https://www.reddit.com/r/Python/comments/1abcde/whats_new_in_python_313/
https://news.ycombinator.com/item?id=40012345
https://www.instagram.com/p/C6abcDEFghi/?utm_source=ig_web_copy_link
https://twitter.com/nasa/status/1789012345678901234?s=20
https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPWqT?si=1a2b3c4d5e6f
https://www.etsy.com/listing/1234567890/handmade-ceramic-mug?ga_order=most_relevant&ref=sr_gallery-1-3
https://maps.google.com/maps?q=48.8584,2.2945&z=17
https://www.google.com/maps/place/Eiffel+Tower/@48.8583701,2.2922926,17z/data=!3m1!4b1
https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz/view?usp=sharing
https://docs.google.com/document/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/edit?usp=sharing
https://zoom.us/j/91234567890?pwd=aBcDeFgHiJkLmNoPqRsTuVwXyZ
https://www.dropbox.com/s/abc123def456/report.pdf?dl=0
https://www.netflix.com/watch/81234567?trackId=14170286
https://pypi.org/project/publicsuffixlist/
https://www.lemonde.fr/international/article/2024/05/12/un-titre-d-article_6230000_3210.html
https://www.spiegel.de/wirtschaft/unternehmen/ein-artikel-a-1234abcd-5678-90ef.html
https://item.rakuten.co.jp/shop/12345/?scid=af_pc_etc
https://www.walmart.com/ip/Great-Value-Whole-Milk-1-Gallon/10450114
https://www.target.com/p/apple-airpods-pro/-/A-85978612#lnk=sametab
https://www.imdb.com/title/tt0111161/?ref_=nv_sr_srsg_0
https://www.gov.uk/government/publications/some-guidance/some-guidance-html
https://mail.google.com/mail/u/0/#inbox
https://outlook.live.com/mail/0/inbox
https://www.coinbase.com/price/bitcoin
https://www.wellsfargo.com/online-banking/
https://support.apple.com/en-us/HT201222
https://www.microsoft.com/en-us/microsoft-365/outlook/email-and-calendar-software-microsoft-outlook
http://example.com/
http://info.cern.ch/hypertext/WWW/TheProject.html
http://www.columbia.edu/~fdc/sample.html
https://www.bankofamerica.com/online-banking/sign-in/
https://www.amazon.co.uk/gp/css/order-history?ref_=nav_orders_first""".split()

SHORTENERS = """https://bit.ly/3xYz12Q bit.ly/2Kx9LmP https://t.co/AbC123xyZ9 https://tinyurl.com/y7k2m9ab
https://tinyurl.com/mr3x4z8p https://goo.gl/maps/XyZ12aBcD3 https://goo.gl/abc12 https://youtu.be/dQw4w9WgXcQ
https://youtu.be/jNQXAC9IVRw?t=10 https://amzn.to/3kLmN0p https://amzn.eu/d/abc1234 https://a.co/d/5fGhIjK
https://ow.ly/AbCd50Q1xYz https://buff.ly/3AbCdEf https://lnkd.in/eXaMpLe1 https://is.gd/abc123 https://rb.gy/x1y2z3
https://cutt.ly/AbC12dE https://t.ly/AbCd https://forms.gle/AbCdEfGhIjK12345 https://maps.app.goo.gl/AbCdEfGh12345
https://spoti.fi/3AbCdEf https://apple.co/3AbCdEf https://fb.me/e/1AbCdEf2 https://git.io/JAbCd https://wa.me/15551234567
https://t.me/examplechannel https://linktr.ee/examplebrand https://shorturl.at/abcDE https://tiny.cc/abc123
https://bit.do/fAbCd https://ift.tt/3AbCdEf https://dlvr.it/SAbCdE https://nyti.ms/3AbCdEf https://trib.al/AbCdEfG
https://s.id/AbCdE https://qrco.de/bAbCdE""".split()

PHISH = {
    "brand-in-subdomain": """http://paypal.com.secure-login.xyz/verify https://appleid.apple.com.account-verify.top/signin
https://www.amazon.co.uk.order-cancel.info/login http://login.microsoftonline.com.auth-session.live/common/oauth2
https://netflix.com.billing-update.online/payment https://chase.com.alerts-secure.site/verify/account
https://dhl.com.parcel-redelivery.icu/track?id=8812 https://usps.com.package-hold.top/redelivery
https://wellsfargo.com.id-confirm.shop/online https://coinbase.com.wallet-restore.app/seed""",
    "brand-in-domain": """https://paypal-resolution-center.com/secure/login https://apple-id-unlock.net/verify
https://amazon-prime-renewal.info/billing https://secure-chase-online.com/auth/login.php
https://microsoft-office365-login.xyz/owa/ https://netflix-account-hold.com/update-payment
https://dhl-express-delivery-fee.com/pay https://royalmail-redelivery-fee.co/pay https://hmrc-tax-refund-claim.com/refund
https://usps-tracking-update.net/us/track https://metamask-wallet-sync.io/restore https://binance-airdrop-claim.live/connect
https://steamcommunity-gift.ru/tradeoffer/new/?partner=12345 https://discord-nitro-free.gift/claim
https://instagram-copyright-appeal.com/form""",
    "typosquat": """https://paypa1.com/signin https://arnazon.com/ap/signin https://rnicrosoft.com/login https://faceb00k-login.com/
https://g00gle-verify.com/accounts https://wellsfargo-secure.co/login https://app1e.com/id https://netfiix.com/login""",
    "ip-host": """http://192.168.4.20/login.php http://45.133.1.22/paypal/webscr?cmd=_login-run
http://103.77.12.9:8080/banking/secure/update.html http://185.220.101.33/wp-admin/amazon/signin.php
http://2.56.59.14/dhl/track.php?id=4481""",
    "free-host": """https://sites.google.com/view/secure-account-verify-2024/home https://paypal-login-8f3k2.web.app/signin
https://appleid-verify.firebaseapp.com/auth https://chase-online-secure.netlify.app/login/index.html
https://office365-mailbox-upgrade.weebly.com/ https://dhl-parcel-track.000webhostapp.com/dhl/index.php?id=9a8b7c
https://secure-update-account.glitch.me/ https://wallet-connect-restore.pages.dev/connect
https://storage.googleapis.com/abc7f3k2/index.html#user@example.com
https://ipfs.io/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi/login.html
https://onedrive-shared-docs.azurewebsites.net/view.php?doc=invoice https://x7k2p9q.blogspot.com/2024/05/verify-your-account.html
https://bafybei3kq.ipfs.dweb.link/office365.html https://login-secure-auth.herokuapp.com/paypal/signin""",
    "userinfo": """http://www.paypal.com@198.51.100.23/login https://accounts.google.com@evil-auth.xyz/signin""",
    "throwaway-tld": """http://xj4k2lq9.top/a/b/c/verify.php https://secure-account-update.cfd/login
http://win-iphone15-free.click/claim?uid=8823 https://your-parcel-is-waiting.sbs/track http://bonus-casino-777.xyz/reg?ref=sms""",
}

# Homographs: Cyrillic letters standing in for Latin ones, written as punycode (as in a QR code
# or an address bar) and as Unicode (as pasted in text).
HOMOGRAPHS = ["аpple.com/id/verify", "раураl.com/signin", "gооgle.com/accounts", "аmazon.com/ap/signin",
              "microsоft.com/login", "faсebook.com/login", "coinbаse.com/wallet"]


def _punycode(url: str) -> str:
    host, _, path = url.partition("/")
    return "https://" + idna.encode(host, uts46=True).decode() + "/" + path


def rows(shared: Path | None) -> list[dict]:
    out = []

    def add(set_: str, url: str, scam: int, group: str | None = None, **meta: str) -> None:
        out.append({"id": f"{set_}:{len(out)}", "text": url, "labels": {"scam": scam, "any": scam},
                    "lang": "en", "set": set_, "group": group, "meta": meta})

    for url in LEGIT_HOME:
        add("legit-home", url, 0)
    for url in LEGIT_LONG:
        add("legit-long", url, 0)
    for url in SHORTENERS:
        add("shortener", url, 0)
    for group, urls in PHISH.items():
        for url in urls.split():
            add("phish-written", url, 1, group)
    for url in HOMOGRAPHS:
        add("phish-written", _punycode(url), 1, "homograph-punycode", unicode=url)
        add("phish-written", "https://" + url, 1, "homograph-unicode")
    if shared is not None:
        out += _smishing(shared / "sms_smishing_5971.jsonl.gz", len(out))
    return out


def _smishing(path: Path, start: int) -> list[dict]:
    """URLs in SMS labelled smishing (scam=1); the link finder picks them out of the text."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tamis.analyzers.links.urls import find_links

    seen, out = set(), []
    for line in gzip.open(path, "rt", encoding="utf-8"):
        row = json.loads(line)
        if row["labels"].get("scam") != 1:
            continue
        for link in find_links(row["text"]):
            if link.url not in seen:
                seen.add(link.url)
                out.append({"id": f"smishing-sms:{start + len(out)}", "text": link.raw, "labels": {"scam": 1, "any": 1},
                            "lang": "en", "set": "smishing-sms", "group": None,
                            "meta": {"source": row["id"], "licence": "CC BY 4.0 (Mishra & Soni 2022, doi:10.17632/f45bkkt8pr.1)"}})
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("data") / "urls.jsonl")
    args = parser.parse_args()
    shared = args.shared if (args.shared / "sms_smishing_5971.jsonl.gz").exists() else None
    data = rows(shared)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    print(f"{len(data)} URLs -> {args.out}" + ("" if shared else " (no shared data: smishing-sms set left out)"))
