"""The web console: what the tutorial does in the AWS console, live, for the local user.

`faaslab up` serves it under `/_console/` on a port of its own, not the edge's (its URL,
with a per-instance token, is printed in the ready banner). Parts: `security.py` (the
token, its cookie, same-origin and CSRF checks), `app.py` (routes: static files, the thin
JSON API, the event stream), `live.py` (one timer that snapshots state and streams
changes as server-sent events), and one module per service, each calling that service's
own code: `lambda_view.py`, `rds_view.py`, `s3_view.py`, `secrets_view.py`. The browser
side is `static/` (vanilla JavaScript modules, no build step, no CDN).
"""
