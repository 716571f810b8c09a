"""`bulkdir serve`: a web page on the user's own machine that does what the command line does, through the
same library calls, for HR staff who never open a terminal.

    security.py   the one-time token, the session cookie, the Host and Origin checks, the headers
    workspace.py  what the page holds between requests: uploaded sheets (a private folder), their checks
                  and plans, and the run in progress (a thread, with its progress and its Stop)
    words.py      the page's own words, in Chinese and English (messages about rows come from the library)
    app.py        the routes: start, problems, plan, confirm, run (and its live progress), results,
                  history, export; HTML rendered on the server (templates/), a little plain JavaScript
                  (static/app.js), nothing loaded from elsewhere

Like bulkdir/cli/, this package is a thin layer: every rule (what a problem is, what the plan holds, the
brake, the lock, the journal, the result files) is the library's.
"""
