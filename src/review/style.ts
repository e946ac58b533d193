/** The review page's stylesheet: plain CSS, readable from a phone up. */
export const REVIEW_CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --line: #d1d9e0; --box: #f6f8fa; --ok: #1a7f37; --no: #cf222e; --wait: #9a6700; --mark: #fff8c5; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #3d444d; --box: #151b23; --ok: #3fb950; --no: #f85149; --wait: #d29922; --mark: #4d3b00; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
.bar { display: flex; flex-wrap: wrap; gap: .5rem; justify-content: space-between; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); }
.brand { font-weight: 600; }
.signout { display: flex; gap: .5rem; align-items: center; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
code, pre { font: .9em/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; word-break: break-all; }
pre { background: var(--box); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; white-space: pre-wrap; margin: .25rem 0 1rem; }
dl { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl { grid-template-columns: 1fr; } dd { margin-bottom: .5rem; } }
.status { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-size: .9rem; font-weight: 600; border: 1px solid currentColor; }
.status-pending { color: var(--wait); } .status-approved { color: var(--ok); } .status-rejected, .status-expired, .status-superseded { color: var(--no); }
mark.hidden-char { background: var(--mark); color: inherit; border-radius: 3px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
td code { font-size: .8rem; }
.decide { display: flex; flex-wrap: wrap; gap: .75rem; margin: .5rem 0; }
button { font: inherit; padding: .5rem 1.25rem; border-radius: 6px; border: 1px solid var(--line); background: var(--box); color: var(--fg); cursor: pointer; min-height: 2.75rem; }
button.approve { background: var(--ok); border-color: var(--ok); color: #fff; }
button.reject { background: var(--no); border-color: var(--no); color: #fff; }
button:focus-visible, a:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
a { color: #0969da; }
@media (prefers-color-scheme: dark) { a { color: #4493f8; } }
.note { color: var(--muted); }
ol.audit { list-style: none; padding: 0; margin: 0; }
ol.audit li { border-bottom: 1px solid var(--line); padding: .5rem 0; }
ol.audit p { margin: 0 0 .25rem; }
ol.audit dl { grid-template-columns: max-content 1fr; font-size: .85rem; }
.person { display: inline-flex; align-items: center; gap: .3rem; }
img.avatar { width: 20px; height: 20px; border-radius: 50%; flex: none; }
.viewer { display: inline-flex; align-items: center; gap: .3rem; }
.signin { margin: 1rem 0; }
a.button { display: inline-flex; align-items: center; min-height: 2.75rem; padding: .5rem 1.25rem; border-radius: 6px; background: var(--fg); color: var(--bg); font-weight: 600; text-decoration: none; }
@media (max-width: 30rem) {
  main { padding: .75rem; }
  h1 { font-size: 1.3rem; }
  .bar { padding: .5rem .75rem; }
  .decide button { flex: 1 1 8rem; }
  ol.audit dl { grid-template-columns: 1fr; }
  th, td { padding: .3rem .35rem; }
}
.banner { border: 1px solid var(--line); border-left: 4px solid #0969da; background: var(--box); padding: .5rem .75rem; border-radius: 6px; }
`;
