"""The page shell: head, Content-Security-Policy, CSS, table of contents, footer and the
few lines of JavaScript.

The policy forbids loading anything from anywhere; styles and script are inline.

>>> "default-src 'none'" in _CSP
True
"""

from __future__ import annotations

from typing import Any

from trustcode import __version__

from .data import Data
from .markup import esc

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_CSS = """
:root{--ink:#1b1b1b;--muted:#4a4a4a;--line:#d0d0d0;--soft:#f4f4f2;--accent:#0b4f8a;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans","DejaVu Sans",
sans-serif;color:var(--ink);background:#fff;line-height:1.5}
body{margin:0}
header.top{background:#14213d;color:#fff;padding:1.4rem 2rem 1.1rem}
header.top h1{margin:0 0 .3rem;font-size:1.7rem}
header.top p{margin:0;color:#e3e7ef}
nav.toc{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);
padding:.4rem 2rem}
nav.toc ol{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:0;padding:0;list-style:none}
nav.toc a{color:var(--accent);text-decoration:none;font-weight:600}
nav.toc a:hover,nav.toc a:focus{text-decoration:underline}
main{max-width:78rem;margin:0 auto;padding:.5rem 2rem 3rem}
main section[id]{scroll-margin-top:3rem}
h2{font-size:1.35rem;margin:2.2rem 0 .8rem;padding-bottom:.25rem;border-bottom:2px solid #14213d}
h3{font-size:1.08rem;margin:1.3rem 0 .5rem}
code{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.88em}
.note{background:#fff8e1;border-left:4px solid #b7791f;padding:.4rem .7rem;font-size:.92rem}
.hint{color:var(--muted);font-size:.92rem}
dl.stats{display:flex;flex-wrap:wrap;gap:.8rem;margin:0}
.stat{border:1px solid var(--line);border-radius:.5rem;padding:.6rem 1rem;min-width:9rem;
background:var(--soft)}
.stat dt{font-size:.85rem;color:var(--muted)}
.stat dd{margin:0;font-size:1.35rem;font-weight:700}
.table-wrap{overflow-x:auto;margin:.6rem 0 1rem}
table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;color:var(--muted);font-size:.88rem;padding:.2rem 0 .4rem}
th,td{border:1px solid var(--line);padding:.3rem .55rem;vertical-align:top;text-align:left}
thead th{background:#e9ecf1}
tbody th{font-weight:600}
table.numeric td{text-align:right;font-variant-numeric:tabular-nums}
table.numeric td.txt{text-align:left}
table.kv th{background:var(--soft);white-space:nowrap}
td.hash{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.8rem;word-break:break-all}
table.codebook td:first-child{white-space:nowrap}
table.disputes th{overflow-wrap:anywhere;max-width:14rem}
table.disputes td:nth-child(2){min-width:20rem}
table.codebook tr.parent th,table.codebook tr.parent td{background:#eef1f6}
table.codebook td:nth-child(n+4){min-width:12rem}
.n,.ci{color:var(--muted);font-size:.85em}
.swatch{display:inline-block;width:1.05em;height:1.05em;border-radius:.2em;background:var(--c);
border:1px solid rgba(0,0,0,.35);vertical-align:-.15em;margin-right:.35em}
.hex{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.8rem;color:var(--muted)}
.code-name{white-space:nowrap}
ul.chips{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:.25rem;
align-items:flex-start}
.chip{display:inline-block;background:#fff;border:1px solid #bbb;border-left:.7em solid var(--c);
border-radius:.3em;padding:.05em .5em;font-size:.82rem;line-height:1.35}
summary ul.chips{flex-direction:row;flex-wrap:wrap;margin:.35rem 0 0}
.chip .count{color:var(--muted);font-variant-numeric:tabular-nums}
section.document{border:1px solid var(--line);border-radius:.5rem;margin:.8rem 0;background:#fff}
details.doc>summary{cursor:pointer;padding:.6rem 1rem;background:var(--soft);border-radius:.5rem}
details.doc[open]>summary{border-bottom:1px solid var(--line);border-radius:.5rem .5rem 0 0}
details.doc>summary h3{display:inline;margin:0}
.facts{display:block;color:var(--muted);font-size:.85rem;margin-top:.15rem}
.doc-text{padding:.6rem 1rem .8rem}
.passage{display:grid;grid-template-columns:2.2rem minmax(0,1fr) 15rem;gap:.2rem .8rem;
margin:.45rem 0;border-radius:.3rem}
.passage .bands{display:flex;gap:2px;justify-content:flex-end}
.passage .bands span{width:6px;background:var(--c);border-radius:2px}
.passage .text{white-space:pre-wrap;padding:.25rem .5rem;line-height:1.6}
.passage.coded .text{background:color-mix(in srgb,var(--c) 13%,#fff);
border-radius:.25rem}
.passage .codes{font-size:.85rem}
details.evidence{margin-top:.3rem}
details.evidence>summary{cursor:pointer;color:var(--accent);font-size:.8rem}
details.evidence ul{margin:.25rem 0 0;padding-left:1rem;font-size:.78rem;color:#333}
.ev-code{font-weight:600}
.ev-text{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.74rem;
overflow-wrap:anywhere}
.pid{color:var(--muted)}
figure.chart{margin:1rem 0;overflow-x:auto}
figure.chart svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.88rem}
footer{max-width:78rem;margin:0 auto;padding:1rem 2rem 2rem;color:var(--muted);font-size:.85rem;
border-top:1px solid var(--line)}
.toolbar{display:flex;gap:.5rem;margin:.4rem 0}
button{font:inherit;font-size:.85rem;padding:.15rem .7rem;cursor:pointer}
@media (max-width:60rem){.passage{grid-template-columns:1.2rem minmax(0,1fr)}
.passage .codes{grid-column:2}}
@media print{
:root{font-size:10.5pt}
nav.toc,.js-only,details.evidence>summary{display:none}
header.top{background:none;color:#000;padding:0 0 .5rem;border-bottom:2px solid #000}
header.top p{color:#333}
main{max-width:none;padding:0}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.hint{display:none}
.passage{break-inside:avoid;grid-template-columns:1.2rem minmax(0,1fr)}
.passage .codes{grid-column:2;display:flex;flex-wrap:wrap;gap:.2rem .8rem;align-items:baseline}
.passage .codes ul.chips{flex-direction:row;flex-wrap:wrap}
details.evidence{margin:0}
details.evidence ul{margin:0;padding-left:1rem;font-size:7.5pt}
section.document{border:none}
details.doc>summary{background:none;padding:.3rem 0;list-style:none}
h2,h3{break-after:avoid}
figure.chart,tr{break-inside:avoid}
a{color:inherit}
}
@media print{details::details-content{content-visibility:visible;display:block}}
"""

# Printing opens every closed <details> (and restores them after), so nothing stays hidden on
# paper in browsers without ::details-content; the buttons open or close all documents.
_JS = """
(function(){
var opened=[];
addEventListener("beforeprint",function(){document.querySelectorAll("details:not([open])")
.forEach(function(d){d.open=true;opened.push(d);});});
addEventListener("afterprint",function(){opened.forEach(function(d){d.open=false;});opened=[];});
document.querySelectorAll(".js-only").forEach(function(e){e.hidden=false;});
document.querySelectorAll("button[data-toggle]").forEach(function(b){
b.addEventListener("click",function(){var open=b.getAttribute("data-toggle")==="open";
document.querySelectorAll("details.doc").forEach(function(d){d.open=open;});});});
})();
"""


def page_html(
    title: str, data: Data, prov: dict[str, Any], sections: list[tuple[str, str, str]]
) -> str:
    nav = "".join(f'<li><a href="#{sid}">{esc(name)}</a></li>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}" aria-labelledby="{sid}-h"><h2 id="{sid}-h">{esc(name)}'
        f"</h2>{content}</section>"
        for sid, name, content in sections
    )
    created = prov.get("created")
    sub = f"Codebook {esc(data.codebook.name)}" + (f" · coded {esc(created)}" if created else "")
    made = prov.get("trustcode_version") or __version__
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        f'<meta name="generator" content="trustcode {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>"
        f'<header class="top"><h1>{esc(title)}</h1><p>{sub}</p></header>'
        f'<nav class="toc" aria-label="Contents"><ol>{nav}</ol></nav>'
        f"<main>{body}</main>"
        f"<footer>Made by trustcode {esc(__version__)} from tables coded by trustcode "
        f"{esc(made)}. This file is self-contained: it loads nothing from the network.</footer>"
        f"<script>{_JS}</script></body></html>\n"
    )
